// PNG (libpng) and JPEG (libjpeg) decoding to 8-bit RGB. Both libraries report errors by
// longjmp; every piece of state the error path touches lives in a heap object whose address is
// fixed before setjmp, and no C++ object is created between setjmp and the library calls.
#include <csetjmp>
#include <cstddef>
#include <cstdio>

#include <png.h>
#include <jpeglib.h>  // needs size_t and FILE declared first
#include <jerror.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/atomic_file.h"
#include "data/image.h"

namespace ptq {

namespace {

constexpr uint32_t kMaxSide = 1 << 15;
constexpr uint64_t kMaxPixels = uint64_t(1) << 27;

struct DecodeState {
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t pos = 0;
  uint32_t width = 0, height = 0;
  uint8_t* pixels = nullptr;  // malloc'd, height * width * 3
  uint8_t** rows = nullptr;   // malloc'd row pointers (PNG)
  uint8_t* scratch = nullptr; // malloc'd CMYK scanline (JPEG)
  char msg[JMSG_LENGTH_MAX > 256 ? JMSG_LENGTH_MAX : 256] = {0};
  ~DecodeState() {
    std::free(pixels);
    std::free(rows);
    std::free(scratch);
  }
};

bool dims_ok(DecodeState* s) {
  if (s->width == 0 || s->height == 0 || s->width > kMaxSide || s->height > kMaxSide ||
      uint64_t(s->width) * s->height > kMaxPixels) {
    std::snprintf(s->msg, sizeof s->msg, "unsupported image size %ux%u", s->width, s->height);
    return false;
  }
  s->pixels = static_cast<uint8_t*>(std::malloc(size_t(s->width) * s->height * 3));
  if (!s->pixels) std::snprintf(s->msg, sizeof s->msg, "out of memory");
  return s->pixels != nullptr;
}

// ---- PNG ----

void png_on_error(png_structp png, png_const_charp msg) {
  auto* s = static_cast<DecodeState*>(png_get_error_ptr(png));
  if (!s->msg[0]) std::snprintf(s->msg, sizeof s->msg, "%s", msg);  // the first message wins
  longjmp(png_jmpbuf(png), 1);
}
void png_on_warning(png_structp, png_const_charp) {}

void png_on_read(png_structp png, png_bytep out, size_t n) {
  auto* s = static_cast<DecodeState*>(png_get_io_ptr(png));
  if (n > s->size - s->pos) png_error(png, "file is truncated");
  std::memcpy(out, s->data + s->pos, n);
  s->pos += n;
}

bool decode_png(DecodeState* s) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s, png_on_error, png_on_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, s, png_on_read);
  png_set_user_limits(png, kMaxSide, kMaxSide);
  png_read_info(png, info);
  s->width = png_get_image_width(png, info);
  s->height = png_get_image_height(png, info);
  if (!dims_ok(s)) png_error(png, "unsupported image size");
  png_set_expand(png);  // palette -> RGB, low-bit gray -> 8 bit, tRNS -> alpha
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != size_t(s->width) * 3) png_error(png, "unexpected row layout after conversion");
  s->rows = static_cast<uint8_t**>(std::malloc(sizeof(uint8_t*) * s->height));
  if (!s->rows) png_error(png, "out of memory");
  for (uint32_t y = 0; y < s->height; ++y) s->rows[y] = s->pixels + size_t(y) * s->width * 3;
  png_read_image(png, s->rows);
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

// ---- JPEG ----

struct JpegError {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  DecodeState* state;
};

void jpeg_on_error(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  cinfo->err->format_message(cinfo, e->state->msg);
  longjmp(e->jump, 1);
}

// Warnings are ignored (like most decoders do for "extraneous bytes" etc.), except premature end
// of data: a truncated file is an error, not a silently gray-filled image.
void jpeg_on_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_on_error(cinfo);
}

struct JpegState {
  jpeg_decompress_struct cinfo;
  JpegError err;
};

bool decode_jpeg(DecodeState* s, JpegState* j) {
  j->cinfo.err = jpeg_std_error(&j->err.mgr);
  j->err.mgr.error_exit = jpeg_on_error;
  j->err.mgr.emit_message = jpeg_on_message;
  j->err.state = s;
  if (setjmp(j->err.jump)) {
    jpeg_destroy_decompress(&j->cinfo);
    return false;
  }
  jpeg_create_decompress(&j->cinfo);
  jpeg_mem_src(&j->cinfo, s->data, static_cast<unsigned long>(s->size));
  jpeg_read_header(&j->cinfo, TRUE);
  s->width = j->cinfo.image_width;
  s->height = j->cinfo.image_height;
  if (!dims_ok(s)) longjmp(j->err.jump, 1);
  // CMYK/YCCK (e.g. from Photoshop) is decoded as CMYK and converted like PIL does; Adobe files
  // store the channels inverted.
  const bool cmyk = j->cinfo.jpeg_color_space == JCS_CMYK || j->cinfo.jpeg_color_space == JCS_YCCK;
  j->cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&j->cinfo);
  if (j->cinfo.output_components != (cmyk ? 4 : 3) || j->cinfo.output_width != s->width ||
      j->cinfo.output_height != s->height) {
    std::snprintf(s->msg, sizeof s->msg, "unsupported JPEG color space");
    longjmp(j->err.jump, 1);
  }
  if (cmyk && !(s->scratch = static_cast<uint8_t*>(std::malloc(size_t(s->width) * 4)))) {
    std::snprintf(s->msg, sizeof s->msg, "out of memory");
    longjmp(j->err.jump, 1);
  }
  while (j->cinfo.output_scanline < j->cinfo.output_height) {
    uint8_t* out = s->pixels + size_t(j->cinfo.output_scanline) * s->width * 3;
    JSAMPROW row = cmyk ? s->scratch : out;
    if (jpeg_read_scanlines(&j->cinfo, &row, 1) != 1) continue;
    if (!cmyk) continue;
    const bool inverted = j->cinfo.saw_Adobe_marker;
    for (uint32_t x = 0; x < s->width; ++x) {
      const uint8_t* p = s->scratch + size_t(x) * 4;
      unsigned k = inverted ? p[3] : 255u - p[3];
      for (int c = 0; c < 3; ++c) out[x * 3 + c] = static_cast<uint8_t>(((inverted ? p[c] : 255u - p[c]) * k + 127) / 255);
    }
  }
  jpeg_finish_decompress(&j->cinfo);
  jpeg_destroy_decompress(&j->cinfo);
  return true;
}

}  // namespace

Image decode_image(const std::string& bytes, const std::string& what) {
  auto s = std::make_unique<DecodeState>();
  s->data = reinterpret_cast<const uint8_t*>(bytes.data());
  s->size = bytes.size();
  bool ok;
  const char* kind;
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), "\x89PNG\r\n\x1a\n", 8) == 0) {
    kind = "PNG";
    ok = decode_png(s.get());
  } else if (bytes.size() >= 3 && std::memcmp(bytes.data(), "\xff\xd8\xff", 3) == 0) {
    kind = "JPEG";
    auto j = std::make_unique<JpegState>();
    ok = decode_jpeg(s.get(), j.get());
  } else {
    bad_input("{}: not a PNG or JPEG image", what);
  }
  if (!ok) bad_input("{}: cannot decode {} image: {}", what, kind, s->msg[0] ? s->msg : "corrupt data");
  Image img;
  img.width = static_cast<int>(s->width);
  img.height = static_cast<int>(s->height);
  img.channels = 3;
  img.pixels.assign(s->pixels, s->pixels + size_t(s->width) * s->height * 3);
  return img;
}

Image read_image(const std::string& path) { return decode_image(read_file(path), path); }

}  // namespace ptq
