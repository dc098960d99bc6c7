// A protobuf-free, in-memory mirror of an ONNX model. onnx_io converts it to and from ModelProto;
// every other module works on these structs only.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace ptq {

struct Graph;

enum class AttrType { Undefined, Float, Int, String, Tensor, Graph, Floats, Ints, Strings, Tensors, Graphs };

struct Attribute {
  std::string name;
  AttrType type = AttrType::Undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;

  static Attribute make_int(std::string name, int64_t v);
  static Attribute make_float(std::string name, float v);
  static Attribute make_string(std::string name, std::string v);
  static Attribute make_ints(std::string name, std::vector<int64_t> v);
  static Attribute make_tensor(std::string name, Tensor v);
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" means the default ONNX domain
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attrs;

  const Attribute* find_attr(const std::string& n) const;
  Attribute* find_attr(const std::string& n);
  int64_t attr_int(const std::string& n, int64_t dflt) const;
  float attr_float(const std::string& n, float dflt) const;
  std::string attr_string(const std::string& n, const std::string& dflt) const;
  std::vector<int64_t> attr_ints(const std::string& n, const std::vector<int64_t>& dflt = {}) const;
  std::vector<float> attr_floats(const std::string& n, const std::vector<float>& dflt = {}) const;
  void set_attr(Attribute a);  // replaces an attribute of the same name
  // Input i if present and non-empty, else "".
  const std::string& input(size_t i) const;
  // "name (OpType)" for error messages; falls back to the first output when unnamed.
  std::string label() const;
};

// One dimension of a declared shape: a fixed size or a symbolic/unknown one (value < 0).
struct Dim {
  int64_t value = -1;
  std::string param;
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::Undefined;
  bool has_shape = false;
  std::vector<Dim> shape;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<ValueInfo> inputs;   // may include initializers (IR < 4 style)
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_info;
  std::map<std::string, Tensor> initializers;

  const Tensor* find_initializer(const std::string& n) const;
  // Inputs that are not also initializers: what a caller must feed.
  std::vector<const ValueInfo*> runtime_inputs() const;
};

struct OpsetImport {
  std::string domain;
  int64_t version = 0;
};

struct Model {
  int64_t ir_version = 7;
  std::vector<OpsetImport> opsets;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::vector<std::pair<std::string, std::string>> metadata;
  Graph graph;

  // Opset of a domain ("" and "ai.onnx" are the same); 0 when not imported.
  int64_t opset(const std::string& domain = "") const;
  void set_opset(const std::string& domain, int64_t version);
};

}  // namespace ptq
