// Shared pieces of the shape/data-movement kernels (shape_ops*.cpp): dtype-agnostic element
// copies (everything here moves bytes, element size taken from the dtype), a strided-view copy
// that all layout ops (Transpose, Slice, Expand, Tile, Concat, Split, DepthToSpace, ...) reduce
// to, and the per-file registration functions that register_shape_ops() calls.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "exec/kernel.h"

namespace ptq::kern::shape {

// Bytes per element of t; throws Error(Unsupported) for types without a fixed size (string).
size_t elem_bytes(const Tensor& t);

// Byte pointer to element `i` of a buffer of `es`-byte elements.
inline uint8_t* byte_ptr(void* p, int64_t i, size_t es) { return static_cast<uint8_t*>(p) + i * static_cast<int64_t>(es); }
inline const uint8_t* byte_ptr(const void* p, int64_t i, size_t es) {
  return static_cast<const uint8_t*>(p) + i * static_cast<int64_t>(es);
}

// Copies the view `shape` (row-major order of its indices): element idx goes from
// src[sum idx[d]*src_strides[d]] to dst[sum idx[d]*dst_strides[d]]. Strides are in elements and
// may be negative (reversed slices) or 0 (broadcast source). Dimensions are coalesced first, so
// contiguous runs become single memcpy calls; a transposing view (unit source stride on an outer
// dimension) is copied in cache-friendly tiles. Parallel (OpenMP) for large views.
void strided_copy(void* dst, const std::vector<int64_t>& dst_strides, const void* src,
                  const std::vector<int64_t>& src_strides, const Shape& shape, size_t es);

// strided_copy into a new contiguous tensor of `out_shape` reading `in` at `src_offset` elements
// with `src_strides`.
Tensor copy_view(const Tensor& in, const Shape& out_shape, const std::vector<int64_t>& src_strides,
                 int64_t src_offset = 0);

// Writes `n` copies of the `es`-byte value at `value` to dst.
void fill_value(void* dst, int64_t n, const void* value, size_t es);

// True when the `es` bytes at p are all zero.
bool all_zero_bytes(const void* p, size_t es);

// Integer values of input i (int32/int64), as used for shapes, axes, starts, pads.
std::vector<int64_t> input_ints(const KernelContext& ctx, size_t i);

// The node's `axis` attribute (default `dflt`) normalized for x, which must have rank >= 1.
size_t axis_attr(const Tensor& x, const Node& node, int64_t dflt);

// Normalizes each axis against `rank`, rejecting duplicates (and any axis when rank is 0).
std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank, const Node& node);

// Registration of the ops in each file.
void register_reshape_like(KernelRegistry& r);  // shape_ops.cpp: Reshape, Flatten, Squeeze, Unsqueeze, Shape, Size
void register_generators(KernelRegistry& r);    // shape_ops_gen.cpp: Constant(OfShape), Range, NonZero, Trilu, EyeLike, OneHot
void register_layout(KernelRegistry& r);        // shape_ops_layout.cpp: Transpose, Concat, Split, Slice, Expand, Tile, D2S, S2D
void register_indexing(KernelRegistry& r);      // shape_ops_index.cpp: Gather*, Compress, Scatter*
void register_pad(KernelRegistry& r);           // shape_ops_pad.cpp: Pad

}  // namespace ptq::kern::shape
