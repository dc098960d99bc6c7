#include "onnx_io/model.h"

namespace ptq {

Attribute Attribute::make_int(std::string name, int64_t v) {
  Attribute a; a.name = std::move(name); a.type = AttrType::Int; a.i = v; return a;
}
Attribute Attribute::make_float(std::string name, float v) {
  Attribute a; a.name = std::move(name); a.type = AttrType::Float; a.f = v; return a;
}
Attribute Attribute::make_string(std::string name, std::string v) {
  Attribute a; a.name = std::move(name); a.type = AttrType::String; a.s = std::move(v); return a;
}
Attribute Attribute::make_ints(std::string name, std::vector<int64_t> v) {
  Attribute a; a.name = std::move(name); a.type = AttrType::Ints; a.ints = std::move(v); return a;
}
Attribute Attribute::make_tensor(std::string name, Tensor v) {
  Attribute a; a.name = std::move(name); a.type = AttrType::Tensor; a.t = std::move(v); return a;
}

const Attribute* Node::find_attr(const std::string& n) const {
  for (const auto& a : attrs)
    if (a.name == n) return &a;
  return nullptr;
}
Attribute* Node::find_attr(const std::string& n) {
  for (auto& a : attrs)
    if (a.name == n) return &a;
  return nullptr;
}

namespace {
void expect_type(const Node& node, const Attribute& a, AttrType t, const char* what) {
  if (a.type != t) bad_input("node {}: attribute '{}' should be {}", node.label(), a.name, what);
}
}  // namespace

int64_t Node::attr_int(const std::string& n, int64_t dflt) const {
  const Attribute* a = find_attr(n);
  if (!a) return dflt;
  expect_type(*this, *a, AttrType::Int, "an int");
  return a->i;
}
float Node::attr_float(const std::string& n, float dflt) const {
  const Attribute* a = find_attr(n);
  if (!a) return dflt;
  if (a->type == AttrType::Int) return static_cast<float>(a->i);
  expect_type(*this, *a, AttrType::Float, "a float");
  return a->f;
}
std::string Node::attr_string(const std::string& n, const std::string& dflt) const {
  const Attribute* a = find_attr(n);
  if (!a) return dflt;
  expect_type(*this, *a, AttrType::String, "a string");
  return a->s;
}
std::vector<int64_t> Node::attr_ints(const std::string& n, const std::vector<int64_t>& dflt) const {
  const Attribute* a = find_attr(n);
  if (!a) return dflt;
  expect_type(*this, *a, AttrType::Ints, "a list of ints");
  return a->ints;
}
std::vector<float> Node::attr_floats(const std::string& n, const std::vector<float>& dflt) const {
  const Attribute* a = find_attr(n);
  if (!a) return dflt;
  expect_type(*this, *a, AttrType::Floats, "a list of floats");
  return a->floats;
}
void Node::set_attr(Attribute a) {
  for (auto& x : attrs)
    if (x.name == a.name) { x = std::move(a); return; }
  attrs.push_back(std::move(a));
}
const std::string& Node::input(size_t i) const {
  static const std::string kEmpty;
  return i < inputs.size() ? inputs[i] : kEmpty;
}
std::string Node::label() const {
  std::string n = !name.empty() ? name : (!outputs.empty() ? outputs[0] : std::string("<unnamed>"));
  return "'" + n + "' (" + op_type + ")";
}

const Tensor* Graph::find_initializer(const std::string& n) const {
  auto it = initializers.find(n);
  return it == initializers.end() ? nullptr : &it->second;
}

std::vector<const ValueInfo*> Graph::runtime_inputs() const {
  std::vector<const ValueInfo*> r;
  for (const auto& vi : inputs)
    if (!initializers.count(vi.name)) r.push_back(&vi);
  return r;
}

int64_t Model::opset(const std::string& domain) const {
  for (const auto& o : opsets) {
    bool same = o.domain == domain || ((o.domain.empty() || o.domain == "ai.onnx") && (domain.empty() || domain == "ai.onnx"));
    if (same) return o.version;
  }
  return 0;
}
void Model::set_opset(const std::string& domain, int64_t version) {
  for (auto& o : opsets) {
    bool same = o.domain == domain || ((o.domain.empty() || o.domain == "ai.onnx") && (domain.empty() || domain == "ai.onnx"));
    if (same) { o.version = version; return; }
  }
  opsets.push_back({domain, version});
}

}  // namespace ptq
