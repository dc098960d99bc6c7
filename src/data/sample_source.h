// Calibration / evaluation inputs from a folder (--calib DIR, --eval DIR, --inputs DIR).
//
// The layout is detected from the folder's contents (hidden files, i.e. names starting with '.',
// and names listed in SourceOptions::ignore are skipped everywhere):
//   "npy"          DIR/*.npy, single-input models. A file is one sample (declared shape, or the
//                  declared shape without its batch dim: a leading 1 is added) or, when the model's
//                  batch dim is dynamic or 1, a batch along axis 0 that is split into samples of
//                  batch 1 with ids "file.npy[17]". Only headers are read at open(); load() reads
//                  one row.
//   "npy-folders"  DIR/<sample>/<input>.npy, one sub-folder per sample and one file per runtime
//                  input, named after the input (or with '/' and ':' replaced by '_').
//   "npz"          DIR/*.npz, one sample per archive, arrays keyed by input name (same name rule);
//                  a single-input model accepts an archive holding any single array.
//   "onnx-pb"      DIR/test_data_set_N/input_K.pb (ONNX TensorProto; output_K.pb is ignored), or
//                  input_K.pb directly in DIR (one sample). input_K binds to the K-th runtime input
//                  unless the TensorProto's name is an input name. Folders sort by N numerically.
//   "images"       DIR/*.png|*.jpg|*.jpeg (any case), single-input image models; see image.h.
// A path to a single .npy/.npz/image file is accepted too (as if its folder held just that file).
// Samples sort lexicographically by file/folder name (byte order). Selection: sharding first
// (keep samples whose index % shard_count == shard_index), then the first max_samples of those.
//
// Every sample is checked on load(): dtype equal to the declaration, rank and fixed dims equal
// (dynamic dims accept anything), no NaN/Inf in float data. Headers available without reading
// data (.npy) are checked at open() already. All problems are Error(BadInput) naming the file and
// the input; bad options are Error(Usage).
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/image.h"
#include "onnx_io/model.h"

namespace ptq {

struct SourceOptions {
  size_t max_samples = 0;  // 0 = all; applied after sharding
  size_t shard_index = 0, shard_count = 1;
  ImageOptions image;
  std::vector<std::string> ignore;  // file/folder names in DIR to skip, e.g. "labels.npy"
};

struct Sample {
  std::string id;                        // "sample_003.npy", "batch.npy[17]", "test_data_set_2"
  std::vector<std::string> files;        // paths of the files read
  std::map<std::string, Tensor> inputs;  // one tensor per model runtime input, with batch dim
};

class SampleSource {
 public:
  // Detects the layout and lists the samples without reading their data. `model_inputs` are the
  // runtime inputs (no initializers); the pointers need not outlive the call.
  static std::unique_ptr<SampleSource> open(const std::string& dir, const std::vector<const ValueInfo*>& model_inputs,
                                            const SourceOptions& opts = {});
  ~SampleSource();

  // Number of selected samples.
  size_t size() const;
  // Number of samples found before sharding / max_samples.
  size_t total() const;
  // Reads sample i (0 <= i < size()) and only it. Thread-safe.
  Sample load(size_t i) const;
  // Id of sample i without reading it.
  std::string sample_id(size_t i) const;
  // "npy", "npy-folders", "npz", "onnx-pb" or "images".
  std::string layout() const;
  const std::string& dir() const;
  // The files backing the selected samples, relative to dir(), each once, in sample order
  // (a batch file appears once). For digests: hash these names and contents plus the options.
  std::vector<std::string> all_files() const;

  struct Impl;

 private:
  explicit SampleSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ptq
