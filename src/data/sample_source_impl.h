// Internal to data/: the state behind SampleSource, shared by the layout detector
// (sample_source.cpp) and the per-layout listing/loading code (sample_layouts.cpp).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/npy.h"
#include "data/sample_source.h"

namespace ptq {

enum class LayoutKind { Npy, NpyFolders, Npz, OnnxPb, Images };

// One file (npy, npz, image) or one folder (npy-folders, onnx-pb).
struct SampleGroup {
  std::string id;                  // file or folder name
  std::vector<std::string> files;  // relative to dir; for folders one per runtime input, in input order
  std::vector<std::string> keys;   // npz: the array key per runtime input
  NpyInfo npy;                     // npy: the file's header
  bool split = false;              // npy: a batch file split into rows
};

struct SampleEntry {
  size_t group;
  int64_t row;  // row of a split npy batch file, else -1
};

struct SampleSource::Impl {
  std::string dir;
  LayoutKind kind = LayoutKind::Npy;
  std::vector<ValueInfo> inputs;
  SourceOptions opts;
  ImagePlan image_plan;
  std::vector<SampleGroup> groups;
  std::vector<SampleEntry> entries;  // every sample, in order
  std::vector<size_t> selected;      // indices into entries

  std::string path(const std::string& rel) const;
  std::string entry_id(const SampleEntry& e) const;
  std::string input_names() const;  // "'a', 'b'"
};

// Sorted names of the files and sub-folders of `path`, skipping hidden names ('.' first) and
// those in `ignore` (may be null); symlinks are followed.
void list_dir(const std::string& path, std::vector<std::string>* files, std::vector<std::string>* dirs,
              const std::vector<std::string>* ignore);
// Input name as a file name: '/' and ':' replaced by '_'.
std::string sanitized_name(const std::string& input);

// Listing: `names` are sorted entries of impl.dir (files or folders, by layout); each fills
// impl.groups and impl.entries, checking what can be checked without reading data.
void list_npy_files(SampleSource::Impl& impl, const std::vector<std::string>& names);
void list_npy_folders(SampleSource::Impl& impl, const std::vector<std::string>& names);
void list_npz_files(SampleSource::Impl& impl, const std::vector<std::string>& names);
void list_pb_folders(SampleSource::Impl& impl, const std::vector<std::string>& names);
void list_images(SampleSource::Impl& impl, const std::vector<std::string>& names);

// Reads and checks one sample.
std::map<std::string, Tensor> load_entry(const SampleSource::Impl& impl, const SampleEntry& e);

}  // namespace ptq
