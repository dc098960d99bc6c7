#include "onnx_io/model_io.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>
#include <onnx/onnx_pb.h>

#include <climits>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "onnx_io/tensor_proto.h"

namespace fs = std::filesystem;

namespace ptq {

using detail::ExternalDataResolver;
using detail::tensor_from_proto;
using detail::tensor_to_proto;

namespace {

constexpr int kMaxGraphDepth = 64;  // nested If/Loop bodies; deeper is treated as hostile

// ---------- proto -> structs ----------

ValueInfo value_info_from_proto(const onnx::ValueInfoProto& p) {
  ValueInfo v;
  v.name = p.name();
  if (p.has_type() && p.type().has_tensor_type()) {
    const auto& tt = p.type().tensor_type();
    v.dtype = dtype_from_onnx(tt.elem_type());
    if (tt.has_shape()) {
      v.has_shape = true;
      for (const auto& d : tt.shape().dim()) {
        Dim dim;
        if (d.has_dim_value()) dim.value = d.dim_value();
        if (d.has_dim_param()) dim.param = d.dim_param();
        v.shape.push_back(dim);
      }
    }
  }
  return v;
}

Graph graph_from_proto(const onnx::GraphProto& g, ExternalDataResolver* res, int depth);

Attribute attr_from_proto(const onnx::AttributeProto& a, const std::string& node, ExternalDataResolver* res, int depth) {
  Attribute r;
  r.name = a.name();
  std::string what = node + "." + a.name();
  if (!a.ref_attr_name().empty()) unsupported("node {}: attribute references (functions) are not supported", node);
  switch (a.type()) {
    case onnx::AttributeProto::FLOAT: r.type = AttrType::Float; r.f = a.f(); break;
    case onnx::AttributeProto::INT: r.type = AttrType::Int; r.i = a.i(); break;
    case onnx::AttributeProto::STRING: r.type = AttrType::String; r.s = a.s(); break;
    case onnx::AttributeProto::TENSOR: r.type = AttrType::Tensor; r.t = tensor_from_proto(a.t(), res, what); break;
    case onnx::AttributeProto::GRAPH:
      r.type = AttrType::Graph;
      r.g = std::make_shared<Graph>(graph_from_proto(a.g(), res, depth + 1));
      break;
    case onnx::AttributeProto::FLOATS: r.type = AttrType::Floats; r.floats.assign(a.floats().begin(), a.floats().end()); break;
    case onnx::AttributeProto::INTS: r.type = AttrType::Ints; r.ints.assign(a.ints().begin(), a.ints().end()); break;
    case onnx::AttributeProto::STRINGS: r.type = AttrType::Strings; r.strings.assign(a.strings().begin(), a.strings().end()); break;
    case onnx::AttributeProto::TENSORS:
      r.type = AttrType::Tensors;
      for (const auto& t : a.tensors()) r.tensors.push_back(tensor_from_proto(t, res, what));
      break;
    case onnx::AttributeProto::GRAPHS:
      r.type = AttrType::Graphs;
      for (const auto& g : a.graphs()) r.graphs.push_back(std::make_shared<Graph>(graph_from_proto(g, res, depth + 1)));
      break;
    case onnx::AttributeProto::SPARSE_TENSOR:
    case onnx::AttributeProto::SPARSE_TENSORS:
    case onnx::AttributeProto::TYPE_PROTO:
    case onnx::AttributeProto::TYPE_PROTOS:
      unsupported("node {}: attribute '{}' of kind {} is not supported", node, a.name(), static_cast<int>(a.type()));
    default:
      // Old exporters omit the type; infer it from the populated field.
      if (a.has_f()) { r.type = AttrType::Float; r.f = a.f(); }
      else if (a.has_i()) { r.type = AttrType::Int; r.i = a.i(); }
      else if (a.has_s()) { r.type = AttrType::String; r.s = a.s(); }
      else if (a.has_t()) { r.type = AttrType::Tensor; r.t = tensor_from_proto(a.t(), res, what); }
      else if (a.ints_size()) { r.type = AttrType::Ints; r.ints.assign(a.ints().begin(), a.ints().end()); }
      else if (a.floats_size()) { r.type = AttrType::Floats; r.floats.assign(a.floats().begin(), a.floats().end()); }
      else bad_input("node {}: attribute '{}' has an unknown type {}", node, a.name(), static_cast<int>(a.type()));
  }
  return r;
}

Graph graph_from_proto(const onnx::GraphProto& g, ExternalDataResolver* res, int depth) {
  if (depth > kMaxGraphDepth) bad_input("subgraphs nested deeper than {} levels", kMaxGraphDepth);
  Graph r;
  r.name = g.name();
  if (g.sparse_initializer_size()) unsupported("graph '{}': sparse initializers are not supported", g.name());
  for (const auto& t : g.initializer()) {
    if (t.name().empty()) bad_input("graph '{}': an initializer has no name", g.name());
    if (r.initializers.count(t.name())) bad_input("graph '{}': duplicate initializer '{}'", g.name(), t.name());
    r.initializers.emplace(t.name(), tensor_from_proto(t, res, t.name()));
  }
  for (const auto& vi : g.input()) r.inputs.push_back(value_info_from_proto(vi));
  for (const auto& vi : g.output()) r.outputs.push_back(value_info_from_proto(vi));
  for (const auto& vi : g.value_info()) r.value_info.push_back(value_info_from_proto(vi));
  r.nodes.reserve(static_cast<size_t>(g.node_size()));
  for (const auto& n : g.node()) {
    Node node;
    node.name = n.name();
    node.op_type = n.op_type();
    node.domain = n.domain() == "ai.onnx" ? "" : n.domain();
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    std::string label = node.label();
    for (const auto& a : n.attribute()) node.attrs.push_back(attr_from_proto(a, label, res, depth));
    r.nodes.push_back(std::move(node));
  }
  return r;
}

// ---------- structs -> proto ----------

struct ExternalWriter {
  AtomicFile* file = nullptr;
  std::string location;
  size_t min_bytes = 1024;
  uint64_t offset = 0;
};

void emit_tensor(const Tensor& t, const std::string& name, onnx::TensorProto* p, ExternalWriter* ext) {
  if (ext && ext->file && t.nbytes() >= ext->min_bytes && !is_4bit(t.dtype())) {
    p->Clear();
    p->set_name(name);
    p->set_data_type(static_cast<int32_t>(t.dtype()));
    for (int64_t d : t.shape()) p->add_dims(d);
    // Align each tensor to 64 bytes so runtimes can map it directly.
    static const char zeros[64] = {};
    size_t pad = static_cast<size_t>((64 - ext->offset % 64) % 64);
    ext->file->write(zeros, pad);
    ext->offset += pad;
    p->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = p->add_external_data();
    kv->set_key("location"); kv->set_value(ext->location);
    kv = p->add_external_data();
    kv->set_key("offset"); kv->set_value(std::to_string(ext->offset));
    kv = p->add_external_data();
    kv->set_key("length"); kv->set_value(std::to_string(t.nbytes()));
    ext->file->write(t.raw(), t.nbytes());
    ext->offset += t.nbytes();
    return;
  }
  tensor_to_proto(t, name, p);
}

void value_info_to_proto(const ValueInfo& v, onnx::ValueInfoProto* p) {
  p->set_name(v.name);
  if (v.dtype == DType::Undefined && !v.has_shape) return;
  auto* tt = p->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(v.dtype));
  if (v.has_shape) {
    auto* sh = tt->mutable_shape();
    for (const auto& d : v.shape) {
      auto* dp = sh->add_dim();
      if (d.value >= 0) dp->set_dim_value(d.value);
      else if (!d.param.empty()) dp->set_dim_param(d.param);
    }
  }
}

void graph_to_proto(const Graph& g, onnx::GraphProto* p, ExternalWriter* ext);

void attr_to_proto(const Attribute& a, onnx::AttributeProto* p, ExternalWriter* ext) {
  p->set_name(a.name);
  switch (a.type) {
    case AttrType::Float: p->set_type(onnx::AttributeProto::FLOAT); p->set_f(a.f); break;
    case AttrType::Int: p->set_type(onnx::AttributeProto::INT); p->set_i(a.i); break;
    case AttrType::String: p->set_type(onnx::AttributeProto::STRING); p->set_s(a.s); break;
    case AttrType::Tensor: p->set_type(onnx::AttributeProto::TENSOR); emit_tensor(a.t, "", p->mutable_t(), ext); break;
    case AttrType::Graph: p->set_type(onnx::AttributeProto::GRAPH); graph_to_proto(*a.g, p->mutable_g(), ext); break;
    case AttrType::Floats: p->set_type(onnx::AttributeProto::FLOATS); for (float f : a.floats) p->add_floats(f); break;
    case AttrType::Ints: p->set_type(onnx::AttributeProto::INTS); for (int64_t i : a.ints) p->add_ints(i); break;
    case AttrType::Strings: p->set_type(onnx::AttributeProto::STRINGS); for (const auto& s : a.strings) p->add_strings(s); break;
    case AttrType::Tensors:
      p->set_type(onnx::AttributeProto::TENSORS);
      for (const auto& t : a.tensors) emit_tensor(t, "", p->add_tensors(), ext);
      break;
    case AttrType::Graphs:
      p->set_type(onnx::AttributeProto::GRAPHS);
      for (const auto& g : a.graphs) graph_to_proto(*g, p->add_graphs(), ext);
      break;
    case AttrType::Undefined: internal_error("attribute '{}' has no type", a.name);
  }
}

void graph_to_proto(const Graph& g, onnx::GraphProto* p, ExternalWriter* ext) {
  p->set_name(g.name.empty() ? std::string("graph") : g.name);  // the ONNX checker requires a name
  for (const auto& n : g.nodes) {
    auto* np = p->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (const auto& i : n.inputs) np->add_input(i);
    for (const auto& o : n.outputs) np->add_output(o);
    for (const auto& a : n.attrs) attr_to_proto(a, np->add_attribute(), ext);
  }
  for (const auto& [name, t] : g.initializers) emit_tensor(t, name, p->add_initializer(), ext);
  for (const auto& v : g.inputs) value_info_to_proto(v, p->add_input());
  for (const auto& v : g.outputs) value_info_to_proto(v, p->add_output());
  for (const auto& v : g.value_info) value_info_to_proto(v, p->add_value_info());
}

void model_to_proto(const Model& m, onnx::ModelProto* p, ExternalWriter* ext) {
  p->set_ir_version(m.ir_version);
  for (const auto& o : m.opsets) {
    auto* op = p->add_opset_import();
    op->set_domain(o.domain);
    op->set_version(o.version);
  }
  if (!m.producer_name.empty()) p->set_producer_name(m.producer_name);
  if (!m.producer_version.empty()) p->set_producer_version(m.producer_version);
  if (!m.domain.empty()) p->set_domain(m.domain);
  if (m.model_version) p->set_model_version(m.model_version);
  if (!m.doc_string.empty()) p->set_doc_string(m.doc_string);
  for (const auto& [k, v] : m.metadata) {
    auto* kv = p->add_metadata_props();
    kv->set_key(k);
    kv->set_value(v);
  }
  graph_to_proto(m.graph, p->mutable_graph(), ext);
}

size_t tensor_bytes(const Graph& g) {
  size_t n = 0;
  for (const auto& [name, t] : g.initializers) n += t.nbytes();
  for (const auto& node : g.nodes)
    for (const auto& a : node.attrs) {
      if (a.type == AttrType::Tensor) n += a.t.nbytes();
      if (a.g) n += tensor_bytes(*a.g);
      for (const auto& sg : a.graphs) n += tensor_bytes(*sg);
    }
  return n;
}

Model model_from_proto(const onnx::ModelProto& p, ExternalDataResolver* res) {
  Model m;
  m.ir_version = p.ir_version();
  for (const auto& o : p.opset_import()) m.opsets.push_back({o.domain() == "ai.onnx" ? "" : o.domain(), o.version()});
  if (m.opsets.empty()) m.opsets.push_back({"", 1});  // IR v2 models without opset_import
  m.producer_name = p.producer_name();
  m.producer_version = p.producer_version();
  m.domain = p.domain();
  m.model_version = p.model_version();
  m.doc_string = p.doc_string();
  for (const auto& kv : p.metadata_props()) m.metadata.emplace_back(kv.key(), kv.value());
  if (p.functions_size()) unsupported("model-local functions are not supported ({} defined)", p.functions_size());
  if (!p.has_graph()) bad_input("the model has no graph");
  m.graph = graph_from_proto(p.graph(), res, 0);
  return m;
}

}  // namespace

Model parse_model(const std::string& bytes, const std::string& base_dir, const std::string& what) {
  onnx::ModelProto p;
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(std::min<size_t>(bytes.size(), INT_MAX)));
  google::protobuf::io::CodedInputStream in(&raw);
  in.SetTotalBytesLimit(INT_MAX);
  in.SetRecursionLimit(200);
  if (!p.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    bad_input("'{}' is not a valid ONNX model (protobuf parse failed; truncated or corrupt file?)", what);
  ExternalDataResolver res(base_dir);
  try {
    return model_from_proto(p, &res);
  } catch (const Error& e) {
    throw Error(e.kind(), what + ": " + e.what());
  }
}

Model load_model(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) bad_input("model file '{}' does not exist or is not a regular file", path);
  auto size = fs::file_size(path, ec);
  if (ec || size > size_t(INT_MAX)) bad_input("model file '{}' is larger than protobuf's 2 GB limit; store weights as external data", path);
  std::string bytes = read_file(path);
  std::string dir = fs::path(path).parent_path().string();
  return parse_model(bytes, dir.empty() ? "." : dir, path);
}

void save_model(const Model& model, const std::string& path, const SaveOptions& opts) {
  bool external = opts.external == SaveOptions::External::Always ||
                  (opts.external == SaveOptions::External::Auto && tensor_bytes(model.graph) > opts.auto_limit_bytes);
  onnx::ModelProto p;
  std::unique_ptr<AtomicFile> data_file;
  ExternalWriter ext;
  if (external) {
    std::string data_path = path + ".data";
    data_file = std::make_unique<AtomicFile>(data_path);
    ext.file = data_file.get();
    ext.location = fs::path(data_path).filename().string();
    ext.min_bytes = opts.external_min_bytes;
  }
  model_to_proto(model, &p, external ? &ext : nullptr);
  size_t sz = p.ByteSizeLong();
  if (sz > size_t(INT_MAX)) fail(ErrorKind::Output, "model '{}' would be {} bytes, past protobuf's 2 GB limit", path, sz);
  std::string bytes;
  google::protobuf::io::StringOutputStream sos(&bytes);
  {
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    p.SerializeWithCachedSizes(&cos);
  }
  AtomicFile out(path);
  out.write(bytes);
  if (data_file) data_file->commit();
  out.commit();
}

std::string serialize_model(const Model& model) {
  onnx::ModelProto p;
  model_to_proto(model, &p, nullptr);
  if (p.ByteSizeLong() > size_t(INT_MAX)) fail(ErrorKind::Output, "model would pass protobuf's 2 GB limit");
  std::string bytes;
  p.SerializeToString(&bytes);
  return bytes;
}

Tensor parse_tensor_pb(const std::string& bytes, const std::string& what, std::string* name_out) {
  onnx::TensorProto p;
  if (!p.ParseFromString(bytes)) bad_input("'{}' is not a valid TensorProto file", what);
  if (name_out) *name_out = p.name();
  return tensor_from_proto(p, nullptr, what);
}

Tensor load_tensor_pb(const std::string& path, std::string* name_out) {
  return parse_tensor_pb(read_file(path), path, name_out);
}

std::string serialize_tensor_pb(const Tensor& t, const std::string& name) {
  onnx::TensorProto p;
  tensor_to_proto(t, name, &p);
  return p.SerializeAsString();
}

Model convert_opset(const Model& model, int64_t target_opset) {
  onnx::ModelProto p;
  model_to_proto(model, &p, nullptr);
  onnx::ModelProto converted;
  try {
    converted = onnx::version_conversion::ConvertVersion(p, static_cast<int>(target_opset));
  } catch (const std::exception& e) {
    unsupported("cannot convert the model from opset {} to {}: {}", model.opset(), target_opset, e.what());
  }
  Model m = model_from_proto(converted, nullptr);
  m.metadata = model.metadata;
  return m;
}

std::string check_model(const Model& model, bool full_check) {
  onnx::ModelProto p;
  model_to_proto(model, &p, nullptr);
  try {
    onnx::checker::check_model(p);
    if (full_check) onnx::shape_inference::InferShapes(p);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace ptq
