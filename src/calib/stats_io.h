// Saving and loading calibration statistics (--save-stats / --load-stats), so calibration can be
// run once, or in shards on several machines, and the shards merged exactly.
//
// File format: UTF-8 JSON, one tensor per line, written atomically (temp file + rename).
//   {"format": "onnx-ptq-calib-stats", "version": 1, "bins": 2048, "samples": 500,
//    "tensors": [
//     {"name": "conv1_out", "dtype": "float32", "count": 401408, "min": -3.25, "max": 7.5,
//      "hist":     {"exp": -8, "offset": -832, "width": 0.00390625, "first": 0, "counts": [3, 0, 7, ...]},
//      "abs_hist": {"exp": -8, "offset": 0,    "width": 0.00390625, "first": 0, "counts": [...]}},
//     {"name": "shape_out", "dtype": "int64"},
//     ...]}
//   format/version  must match exactly (readers reject other versions).
//   bins            histogram size of every tensor (files with different bins cannot be merged).
//   samples         calibration samples folded in.
//   tensors[]       every value seen, sorted by name. "dtype" (dtype_name()) is absent only for
//                   statistics without a recorded dtype. The pipeline keeps statistics only of the
//                   values a quantization plan can mark (quant/quantizer.h tensors_needing_ranges);
//                   other float values have a dtype only. Float tensors with statistics have "count"
//                   (elements folded in); when count > 0 also "min"/"max" (float values, printed
//                   exactly) and both histograms:
//     exp, offset   the bin grid (calib/histogram.h): bin k covers [(offset + k) * 2^exp,
//                   (offset + k + 1) * 2^exp); "hist" covers [min, max], "abs_hist" [0, max|x|]. The
//                   reader checks that exp/offset are what the layout rule gives for that range.
//     width         2^exp, informational (ignored by the reader).
//     first/counts  counts[i] is the count of bin first + i; bins after the list are zero.
// Counts are unsigned 64-bit integers; a reader checks that both histograms sum to "count".
#pragma once
#include <string>
#include <vector>

#include "calib/tensor_stats.h"

namespace ptq {

constexpr int kStatsFormatVersion = 1;

// Writes atomically; throws Error(Output) if the file cannot be written.
void save_stats(const std::string& path, const CalibStats& stats);
std::string stats_to_json(const CalibStats& stats);

// Throws Error(BadInput) naming the file for unreadable, malformed or inconsistent files.
CalibStats load_stats(const std::string& path);
CalibStats stats_from_json(const std::string& text, const std::string& what);

// Loads every file and merges them exactly (bins must agree; a tensor's dtype must agree).
// Throws Error(Usage) for an empty list.
CalibStats load_and_merge_stats(const std::vector<std::string>& paths);

}  // namespace ptq
