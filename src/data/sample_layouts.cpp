// Per-layout listing (at open) and loading (per sample) for SampleSource.
#include <algorithm>
#include <filesystem>
#include <set>

#include "data/image.h"
#include "data/input_check.h"
#include "data/npy.h"
#include "data/npz.h"
#include "data/sample_source_impl.h"
#include "onnx_io/model_io.h"

namespace ptq {

using Impl = SampleSource::Impl;

namespace {

const ValueInfo& single_input(const Impl& impl, const char* what) {
  if (impl.inputs.size() != 1)
    bad_input("{}: {} can only feed single-input models, but this model has {} inputs ({}); use one sub-folder per "
              "sample holding one <input>.npy per input, or one .npz per sample",
              impl.dir, what, impl.inputs.size(), impl.input_names());
  return impl.inputs[0];
}

// Adds the batch dim if the data lacks it, then checks dtype, shape and finiteness.
Tensor finish(const ValueInfo& decl, Tensor t, const std::string& what) {
  Shape s = add_batch_dim(decl, t.shape());
  if (s != t.shape()) t = t.reshaped(s);
  check_input_tensor(decl, t, what);
  return t;
}

void add_whole(Impl& impl, SampleGroup g) {
  impl.groups.push_back(std::move(g));
  impl.entries.push_back({impl.groups.size() - 1, -1});
}

// The file in `files` holding model input `name`: "<name><ext>" or "<sanitized name><ext>".
std::string find_input_file(const std::vector<std::string>& files, const std::string& name, const std::string& ext,
                            const std::string& where) {
  std::string exact = name + ext, safe = sanitized_name(name) + ext;
  bool has_exact = std::binary_search(files.begin(), files.end(), exact);
  bool has_safe = safe != exact && std::binary_search(files.begin(), files.end(), safe);
  if (has_exact && has_safe) bad_input("{}: both '{}' and '{}' exist for model input '{}'", where, exact, safe, name);
  if (!has_exact && !has_safe)
    bad_input("{}: missing '{}' for model input '{}'", where, safe == exact ? exact : exact + "' (or '" + safe, name);
  return has_exact ? exact : safe;
}

// "input_12.pb" -> 12; -1 for other names.
int64_t pb_input_index(const std::string& f) {
  const std::string pre = "input_", suf = ".pb";
  if (f.size() <= pre.size() + suf.size() || f.compare(0, pre.size(), pre) != 0 ||
      f.compare(f.size() - suf.size(), suf.size(), suf) != 0)
    return -1;
  std::string digits = f.substr(pre.size(), f.size() - pre.size() - suf.size());
  if (digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return std::stoll(digits);
}

bool is_pb_output(const std::string& f) {
  return f.compare(0, 7, "output_") == 0 && f.size() > 10 && f.compare(f.size() - 3, 3, ".pb") == 0;
}

// "test_data_set_12" -> 12; -1 for other names.
int64_t data_set_index(const std::string& d) {
  const std::string pre = "test_data_set_";
  if (d.size() <= pre.size() || d.size() > pre.size() + 15 || d.compare(0, pre.size(), pre) != 0) return -1;
  for (size_t i = pre.size(); i < d.size(); ++i)
    if (d[i] < '0' || d[i] > '9') return -1;
  return std::stoll(d.substr(pre.size()));
}

}  // namespace

void list_npy_files(Impl& impl, const std::vector<std::string>& names) {
  const ValueInfo& decl = single_input(impl, ".npy files directly in the folder");
  bool batch_ok = decl.has_shape && !decl.shape.empty() && (decl.shape[0].value < 0 || decl.shape[0].value == 1);
  for (const auto& name : names) {
    std::string path = impl.path(name);
    SampleGroup g;
    g.id = name;
    g.files = {name};
    g.npy = read_npy_info(path);
    g.split = batch_ok && g.npy.shape.size() == decl.shape.size();
    Shape sample_shape = add_batch_dim(decl, g.npy.shape);
    if (g.split) sample_shape[0] = 1;
    check_input_decl(decl, g.npy.dtype, sample_shape, path);
    int64_t rows = g.split ? g.npy.shape[0] : 1;
    bool whole = !g.split || rows == 1;
    impl.groups.push_back(std::move(g));
    if (whole) {
      impl.entries.push_back({impl.groups.size() - 1, -1});
    } else {
      for (int64_t r = 0; r < rows; ++r) impl.entries.push_back({impl.groups.size() - 1, r});
    }
  }
}

void list_npy_folders(Impl& impl, const std::vector<std::string>& names) {
  for (const auto& folder : names) {
    std::string fpath = impl.path(folder);
    std::vector<std::string> files, subdirs;
    list_dir(fpath, &files, &subdirs, nullptr);
    if (!subdirs.empty())
      bad_input("{}: unexpected sub-folder '{}' in a per-sample folder (expected one .npy file per model input: {})", fpath,
                subdirs[0], impl.input_names());
    SampleGroup g;
    g.id = folder;
    std::set<std::string> used;
    for (const auto& decl : impl.inputs) {
      std::string f = find_input_file(files, decl.name, ".npy", fpath);
      used.insert(f);
      g.files.push_back(folder + "/" + f);
      std::string path = impl.path(g.files.back());
      NpyInfo info = read_npy_info(path);
      check_input_decl(decl, info.dtype, add_batch_dim(decl, info.shape), path);
    }
    for (const auto& f : files)
      if (!used.count(f))
        bad_input("{}: unexpected file '{}' (expected one .npy file per model input: {})", fpath, f, impl.input_names());
    add_whole(impl, std::move(g));
  }
}

void list_npz_files(Impl& impl, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    std::string path = impl.path(name);
    NpzFile f = NpzFile::open(path);
    SampleGroup g;
    g.id = name;
    g.files = {name};
    for (const auto& decl : impl.inputs) {
      std::string key;
      if (f.has(decl.name)) key = decl.name;
      else if (f.has(sanitized_name(decl.name))) key = sanitized_name(decl.name);
      else if (impl.inputs.size() == 1 && f.keys().size() == 1) key = f.keys()[0];
      else {
        std::string held;
        for (const auto& k : f.keys()) held += (held.empty() ? "'" : ", '") + k + "'";
        bad_input("{}: no array for model input '{}' (the archive holds {})", path, decl.name, held.empty() ? "no arrays" : held);
      }
      g.keys.push_back(key);
    }
    for (const auto& k : f.keys())
      if (std::find(g.keys.begin(), g.keys.end(), k) == g.keys.end())
        bad_input("{}: unexpected array '{}' (model inputs: {})", path, k, impl.input_names());
    add_whole(impl, std::move(g));
  }
}

void list_pb_folders(Impl& impl, const std::vector<std::string>& names_in) {
  std::vector<std::string> names = names_in;
  if (std::all_of(names.begin(), names.end(), [](const std::string& d) { return data_set_index(d) >= 0; }))
    std::stable_sort(names.begin(), names.end(),
                     [](const std::string& a, const std::string& b) { return data_set_index(a) < data_set_index(b); });
  const size_t n = impl.inputs.size();
  for (const auto& folder : names) {
    std::string fpath = impl.path(folder);
    std::vector<std::string> files, subdirs;
    list_dir(fpath, &files, &subdirs, folder.empty() ? &impl.opts.ignore : nullptr);
    if (!subdirs.empty()) bad_input("{}: unexpected sub-folder '{}' in an ONNX test data folder", fpath, subdirs[0]);
    std::vector<std::string> by_index(n);
    for (const auto& f : files) {
      int64_t k = pb_input_index(f);
      if (k < 0) {
        if (is_pb_output(f)) continue;
        bad_input("{}: unexpected file '{}' (expected input_K.pb / output_K.pb)", fpath, f);
      }
      if (static_cast<size_t>(k) >= n)
        bad_input("{}: '{}' but the model has {} runtime input(s) ({})", fpath, f, n, impl.input_names());
      by_index[static_cast<size_t>(k)] = f;
    }
    SampleGroup g;
    g.id = folder.empty() ? std::filesystem::path(impl.dir).filename().string() : folder;
    if (g.id.empty()) g.id = impl.dir;
    for (size_t k = 0; k < n; ++k) {
      if (by_index[k].empty())
        bad_input("{}: missing 'input_{}.pb' for model input '{}'", fpath, k, impl.inputs[k].name);
      g.files.push_back(folder.empty() ? by_index[k] : folder + "/" + by_index[k]);
    }
    add_whole(impl, std::move(g));
  }
}

void list_images(Impl& impl, const std::vector<std::string>& names) {
  const ValueInfo& decl = single_input(impl, "image folders");
  try {
    impl.image_plan = plan_image_input(decl, impl.opts.image);
  } catch (const Error& e) {
    throw Error(e.kind(), impl.dir + ": " + e.what());
  }
  for (const auto& name : names) add_whole(impl, SampleGroup{name, {name}, {}, {}, false});
}

std::map<std::string, Tensor> load_entry(const Impl& impl, const SampleEntry& e) {
  const SampleGroup& g = impl.groups[e.group];
  std::map<std::string, Tensor> out;
  switch (impl.kind) {
    case LayoutKind::Npy: {
      const ValueInfo& decl = impl.inputs[0];
      std::string path = impl.path(g.files[0]);
      NpyInfo now = read_npy_info(path);
      if (now.dtype != g.npy.dtype || now.shape != g.npy.shape || now.data_offset != g.npy.data_offset)
        bad_input("{}: file changed since the folder was opened", path);
      if (e.row < 0) {
        out[decl.name] = finish(decl, read_npy(path), path);
      } else {
        std::string what = path + "[" + std::to_string(e.row) + "]";
        out[decl.name] = finish(decl, read_npy_rows(path, g.npy, e.row, 1), what);
      }
      break;
    }
    case LayoutKind::NpyFolders:
      for (size_t i = 0; i < impl.inputs.size(); ++i) {
        std::string path = impl.path(g.files[i]);
        out[impl.inputs[i].name] = finish(impl.inputs[i], read_npy(path), path);
      }
      break;
    case LayoutKind::Npz: {
      std::string path = impl.path(g.files[0]);
      NpzFile f = NpzFile::open(path);
      for (size_t i = 0; i < impl.inputs.size(); ++i)
        out[impl.inputs[i].name] = finish(impl.inputs[i], f.read(g.keys[i]), path);
      break;
    }
    case LayoutKind::OnnxPb: {
      const size_t n = impl.inputs.size();
      std::vector<Tensor> ts(n);
      std::vector<std::string> tnames(n);
      for (size_t k = 0; k < n; ++k) ts[k] = load_tensor_pb(impl.path(g.files[k]), &tnames[k]);
      // input_K binds to the input named like its TensorProto, else to the K-th input.
      std::vector<int64_t> source(n, -1);
      for (size_t k = 0; k < n; ++k) {
        size_t target = k;
        for (size_t i = 0; i < n; ++i)
          if (!tnames[k].empty() && impl.inputs[i].name == tnames[k]) target = i;
        if (source[target] >= 0)
          bad_input("both '{}' and '{}' bind to model input '{}'", impl.path(g.files[static_cast<size_t>(source[target])]),
                    impl.path(g.files[k]), impl.inputs[target].name);
        source[target] = static_cast<int64_t>(k);
      }
      for (size_t i = 0; i < n; ++i) {
        size_t k = static_cast<size_t>(source[i]);
        out[impl.inputs[i].name] = finish(impl.inputs[i], ts[k], impl.path(g.files[k]));
      }
      break;
    }
    case LayoutKind::Images: {
      std::string path = impl.path(g.files[0]);
      Tensor t = image_to_tensor(read_image(path), impl.image_plan, impl.opts.image, path);
      out[impl.inputs[0].name] = finish(impl.inputs[0], t, path);
      break;
    }
  }
  return out;
}

}  // namespace ptq
