// SampleSource: layout detection, sample selection (shard, max) and the public accessors.
#include "data/sample_source.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <system_error>

#include "data/sample_source_impl.h"

namespace fs = std::filesystem;

namespace ptq {

namespace {

enum class FileKind { Npy, Npz, Image, Pb, Other };

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

FileKind file_kind(const std::string& name) {
  std::string ext = lower(fs::path(name).extension().string());
  if (ext == ".npy") return FileKind::Npy;
  if (ext == ".npz") return FileKind::Npz;
  if (ext == ".png" || ext == ".jpg" || ext == ".jpeg") return FileKind::Image;
  if (ext == ".pb") return FileKind::Pb;
  return FileKind::Other;
}

const char* kind_label(FileKind k) {
  switch (k) {
    case FileKind::Npy: return ".npy files";
    case FileKind::Npz: return ".npz files";
    case FileKind::Image: return "image files";
    case FileKind::Pb: return "TensorProto .pb files";
    default: return "other files";
  }
}

const char* layout_name(LayoutKind k) {
  switch (k) {
    case LayoutKind::Npy: return "npy";
    case LayoutKind::NpyFolders: return "npy-folders";
    case LayoutKind::Npz: return "npz";
    case LayoutKind::OnnxPb: return "onnx-pb";
    case LayoutKind::Images: return "images";
  }
  return "?";
}

// Does this folder hold ONNX test data (input_K.pb files)?
bool is_pb_folder(const std::string& path) {
  std::vector<std::string> files, dirs;
  list_dir(path, &files, &dirs, nullptr);
  for (const auto& f : files)
    if (file_kind(f) == FileKind::Pb) return true;
  return false;
}

}  // namespace

void list_dir(const std::string& path, std::vector<std::string>* files, std::vector<std::string>* dirs,
              const std::vector<std::string>* ignore) {
  std::error_code ec;
  fs::directory_iterator it(path, ec), end;
  if (ec) bad_input("cannot list folder '{}': {}", path, ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (ignore && std::find(ignore->begin(), ignore->end(), name) != ignore->end()) continue;
    std::error_code sec;
    auto st = fs::status(it->path(), sec);  // follows symlinks
    if (sec) bad_input("cannot access '{}': {}", it->path().string(), sec.message());
    if (fs::is_directory(st)) dirs->push_back(name);
    else if (fs::is_regular_file(st)) files->push_back(name);
    else bad_input("'{}' is neither a file nor a folder", it->path().string());
  }
  if (ec) bad_input("cannot list folder '{}': {}", path, ec.message());
  std::sort(files->begin(), files->end());
  std::sort(dirs->begin(), dirs->end());
}

std::string SampleSource::Impl::path(const std::string& rel) const {
  if (rel.empty()) return dir;
  return (fs::path(dir) / rel).string();
}

std::string SampleSource::Impl::entry_id(const SampleEntry& e) const {
  const std::string& id = groups[e.group].id;
  return e.row < 0 ? id : id + "[" + std::to_string(e.row) + "]";
}

std::string SampleSource::Impl::input_names() const {
  std::string s;
  for (const auto& v : inputs) s += (s.empty() ? "'" : ", '") + v.name + "'";
  return s;
}

std::string sanitized_name(const std::string& input) {
  std::string s = input;
  for (char& c : s)
    if (c == '/' || c == ':') c = '_';
  return s;
}

std::unique_ptr<SampleSource> SampleSource::open(const std::string& dir, const std::vector<const ValueInfo*>& model_inputs,
                                                 const SourceOptions& opts) {
  if (opts.shard_count == 0 || opts.shard_index >= opts.shard_count)
    fail(ErrorKind::Usage, "invalid shard {} of {} (need 0 <= index < count)", opts.shard_index, opts.shard_count);
  if (model_inputs.empty()) bad_input("{}: the model has no runtime inputs to feed", dir);
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  for (const ValueInfo* v : model_inputs) {
    if (!v) internal_error("SampleSource::open: null model input");
    impl->inputs.push_back(*v);
  }

  std::vector<std::string> files, dirs;
  std::error_code ec;
  auto st = fs::status(dir, ec);
  if (ec || !fs::exists(st)) bad_input("{}: no such folder", dir);
  if (fs::is_regular_file(st)) {
    fs::path p(dir);
    impl->dir = p.has_parent_path() ? p.parent_path().string() : ".";
    files.push_back(p.filename().string());
    if (file_kind(files[0]) == FileKind::Pb || file_kind(files[0]) == FileKind::Other)
      bad_input("{}: expected a folder or an .npy/.npz/image file", dir);
  } else if (fs::is_directory(st)) {
    impl->dir = dir;
    list_dir(dir, &files, &dirs, &opts.ignore);
  } else {
    bad_input("{}: not a folder", dir);
  }
  if (files.empty() && dirs.empty()) bad_input("{}: folder is empty (no sample files or sub-folders)", dir);
  if (!files.empty() && !dirs.empty())
    bad_input("{}: mixed layouts: holds both files (e.g. '{}') and sub-folders (e.g. '{}'); use either sample files "
              "or one sub-folder per sample",
              dir, files[0], dirs[0]);

  if (!files.empty()) {
    std::map<FileKind, std::string> kinds;  // kind -> first file of that kind
    for (const auto& f : files) {
      FileKind k = file_kind(f);
      if (k == FileKind::Other)
        bad_input("{}: unrecognized file '{}' (expected .npy, .npz, .png/.jpg/.jpeg or ONNX input_K.pb files)", dir, f);
      kinds.emplace(k, f);
    }
    if (kinds.size() > 1) {
      auto a = kinds.begin(), b = std::next(a);
      bad_input("{}: mixed layouts: holds {} (e.g. '{}') and {} (e.g. '{}'); use one kind per folder", dir,
                kind_label(a->first), a->second, kind_label(b->first), b->second);
    }
    switch (kinds.begin()->first) {
      case FileKind::Npy: impl->kind = LayoutKind::Npy; list_npy_files(*impl, files); break;
      case FileKind::Npz: impl->kind = LayoutKind::Npz; list_npz_files(*impl, files); break;
      case FileKind::Image: impl->kind = LayoutKind::Images; list_images(*impl, files); break;
      default: impl->kind = LayoutKind::OnnxPb; list_pb_folders(*impl, {""}); break;
    }
  } else {
    std::string pb, npy;  // first folder of each kind
    for (const auto& d : dirs) {
      std::string& first = is_pb_folder(impl->path(d)) ? pb : npy;
      if (first.empty()) first = d;
    }
    if (!pb.empty() && !npy.empty())
      bad_input("{}: mixed layouts: sub-folder '{}' holds ONNX input_K.pb files but '{}' does not", dir, pb, npy);
    impl->kind = pb.empty() ? LayoutKind::NpyFolders : LayoutKind::OnnxPb;
    if (pb.empty()) list_npy_folders(*impl, dirs);
    else list_pb_folders(*impl, dirs);
  }
  if (impl->entries.empty()) bad_input("{}: no samples found ({} layout)", dir, layout_name(impl->kind));

  for (size_t i = opts.shard_index; i < impl->entries.size(); i += opts.shard_count) impl->selected.push_back(i);
  if (opts.max_samples > 0 && impl->selected.size() > opts.max_samples) impl->selected.resize(opts.max_samples);
  if (impl->selected.empty())
    bad_input("{}: shard {} of {} selects none of the {} samples", dir, opts.shard_index, opts.shard_count,
              impl->entries.size());
  return std::unique_ptr<SampleSource>(new SampleSource(std::move(impl)));
}

SampleSource::SampleSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SampleSource::~SampleSource() = default;

size_t SampleSource::size() const { return impl_->selected.size(); }
size_t SampleSource::total() const { return impl_->entries.size(); }
std::string SampleSource::layout() const { return layout_name(impl_->kind); }
const std::string& SampleSource::dir() const { return impl_->dir; }

std::string SampleSource::sample_id(size_t i) const {
  if (i >= size()) internal_error("sample index {} out of range ({} samples)", i, size());
  return impl_->entry_id(impl_->entries[impl_->selected[i]]);
}

Sample SampleSource::load(size_t i) const {
  if (i >= size()) internal_error("sample index {} out of range ({} samples)", i, size());
  const SampleEntry& e = impl_->entries[impl_->selected[i]];
  Sample s;
  s.id = impl_->entry_id(e);
  for (const auto& f : impl_->groups[e.group].files) s.files.push_back(impl_->path(f));
  s.inputs = load_entry(*impl_, e);
  return s;
}

std::vector<std::string> SampleSource::all_files() const {
  std::vector<std::string> r;
  std::set<size_t> seen;
  for (size_t idx : impl_->selected) {
    size_t g = impl_->entries[idx].group;
    if (!seen.insert(g).second) continue;
    for (const auto& f : impl_->groups[g].files) r.push_back(f);
  }
  return r;
}

}  // namespace ptq
