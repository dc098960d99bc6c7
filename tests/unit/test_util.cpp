#include "test_util.h"

#include <catch2/catch.hpp>

#include <cmath>

namespace ptq::test {

Model single_node_model(const std::string& op_type, const std::vector<Tensor>& inputs, std::vector<Attribute> attrs,
                        int64_t opset, size_t n_outputs, const std::vector<size_t>& as_initializer,
                        const std::string& domain) {
  Model m;
  m.opsets.push_back({"", opset});
  if (!domain.empty()) m.opsets.push_back({domain, 1});
  Node n;
  n.op_type = op_type;
  n.domain = domain;
  n.name = "node";
  n.attrs = std::move(attrs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    if (inputs[i].empty()) {
      n.inputs.push_back("");
      continue;
    }
    n.inputs.push_back(name);
    bool init = false;
    for (size_t k : as_initializer) init |= k == i;
    if (init) {
      m.graph.initializers[name] = inputs[i];
    } else {
      ValueInfo vi;
      vi.name = name;
      vi.dtype = inputs[i].dtype();
      m.graph.inputs.push_back(vi);
    }
  }
  for (size_t o = 0; o < n_outputs; ++o) {
    n.outputs.push_back("out" + std::to_string(o));
    ValueInfo vi;
    vi.name = n.outputs.back();
    m.graph.outputs.push_back(vi);
  }
  m.graph.nodes.push_back(std::move(n));
  return m;
}

std::vector<Tensor> run_single_node(const std::string& op_type, const std::vector<Tensor>& inputs,
                                    std::vector<Attribute> attrs, int64_t opset, size_t n_outputs,
                                    const std::vector<size_t>& as_initializer) {
  Model m = single_node_model(op_type, inputs, std::move(attrs), opset, n_outputs, as_initializer);
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg);
  std::map<std::string, Tensor> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    bool init = false;
    for (size_t k : as_initializer) init |= k == i;
    if (!inputs[i].empty() && !init) feeds["in" + std::to_string(i)] = inputs[i];
  }
  return ex.run(feeds);
}

Node make(const std::string& op, std::vector<std::string> in, std::vector<std::string> out, std::vector<Attribute> attrs) {
  Node n;
  n.op_type = op;
  n.name = op + "_" + out[0];
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  return n;
}

Tensor wave(Shape s, float amp, float phase) {
  Tensor t(DType::Float32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = amp * std::sin(0.7f * static_cast<float>(i) + phase);
  return t;
}

void require_close(const Tensor& got, const std::vector<float>& want, float atol) {
  REQUIRE(got.dtype() == DType::Float32);
  REQUIRE(got.numel() == static_cast<int64_t>(want.size()));
  const float* g = got.data<float>();
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element " << i << ": got " << g[i] << ", want " << want[i]);
    REQUIRE(std::fabs(g[i] - want[i]) <= atol);
  }
}

}  // namespace ptq::test
