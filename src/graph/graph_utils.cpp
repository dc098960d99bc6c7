#include "graph/graph_utils.h"

#include <deque>

#include "core/error.h"

namespace ptq {

namespace {
void collect_defined(const Graph& g, std::set<std::string>& out) {
  for (const auto& [n, t] : g.initializers) out.insert(n);
  for (const auto& v : g.inputs) out.insert(v.name);
  for (const auto& node : g.nodes)
    for (const auto& o : node.outputs)
      if (!o.empty()) out.insert(o);
}

void collect_all_names(const Graph& g, std::set<std::string>& out) {
  collect_defined(g, out);
  for (const auto& node : g.nodes) {
    if (!node.name.empty()) out.insert(node.name);
    for (const auto& i : node.inputs) out.insert(i);
    for (const auto& a : node.attrs) {
      if (a.g) collect_all_names(*a.g, out);
      for (const auto& sg : a.graphs) collect_all_names(*sg, out);
    }
  }
  for (const auto& v : g.outputs) out.insert(v.name);
}

// Names a node reads: its inputs plus whatever its subgraphs capture.
std::vector<std::string> node_reads(const Node& n) {
  std::vector<std::string> r;
  for (const auto& i : n.inputs)
    if (!i.empty()) r.push_back(i);
  for (const auto& a : n.attrs) {
    if (a.g)
      for (const auto& c : captured_names(*a.g)) r.push_back(c);
    for (const auto& sg : a.graphs)
      for (const auto& c : captured_names(*sg)) r.push_back(c);
  }
  return r;
}
}  // namespace

std::set<std::string> captured_names(const Graph& g) {
  std::set<std::string> defined;
  collect_defined(g, defined);
  std::set<std::string> r;
  for (const auto& node : g.nodes)
    for (const auto& name : node_reads(node))
      if (!defined.count(name)) r.insert(name);
  for (const auto& o : g.outputs)
    if (!defined.count(o.name)) r.insert(o.name);
  return r;
}

std::vector<size_t> topological_order(const Graph& g, const std::set<std::string>& outer) {
  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs) {
      if (o.empty()) continue;
      if (!producer.emplace(o, i).second)
        bad_input("graph '{}': value '{}' is produced by two nodes ({} and {})", g.name, o,
                  g.nodes[producer[o]].label(), g.nodes[i].label());
      if (g.initializers.count(o)) bad_input("graph '{}': node {} overwrites initializer '{}'", g.name, g.nodes[i].label(), o);
    }
  std::set<std::string> sources(outer);
  for (const auto& [n, t] : g.initializers) sources.insert(n);
  for (const auto& v : g.inputs) sources.insert(v.name);

  std::vector<std::vector<size_t>> users(g.nodes.size());
  std::vector<size_t> pending(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& name : node_reads(g.nodes[i])) {
      auto it = producer.find(name);
      if (it != producer.end()) {
        if (it->second == i) bad_input("graph '{}': node {} consumes its own output '{}' (cycle)", g.name, g.nodes[i].label(), name);
        users[it->second].push_back(i);
        ++pending[i];
      } else if (!sources.count(name)) {
        bad_input("graph '{}': node {} reads '{}', which no node, input or initializer defines", g.name, g.nodes[i].label(), name);
      }
    }
  }
  // Kahn's algorithm with a min-index queue keeps the original order whenever it is valid.
  std::set<size_t> ready;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (pending[i] == 0) ready.insert(i);
  std::vector<size_t> order;
  order.reserve(g.nodes.size());
  while (!ready.empty()) {
    size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (size_t u : users[i])
      if (--pending[u] == 0) ready.insert(u);
  }
  if (order.size() != g.nodes.size()) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (pending[i]) bad_input("graph '{}': node {} is part of a cycle", g.name, g.nodes[i].label());
  }
  for (const auto& o : g.outputs)
    if (!producer.count(o.name) && !sources.count(o.name))
      bad_input("graph '{}': output '{}' is not produced by any node", g.name, o.name);
  return order;
}

void sort_topologically(Graph& g) {
  auto order = topological_order(g, captured_names(g));
  std::vector<Node> nodes;
  nodes.reserve(order.size());
  for (size_t i : order) nodes.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(nodes);
}

std::map<std::string, size_t> producer_map(const Graph& g) {
  std::map<std::string, size_t> r;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) r[o] = i;
  return r;
}

std::map<std::string, std::vector<size_t>> consumer_map(const Graph& g) {
  std::map<std::string, std::vector<size_t>> r;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& name : node_reads(g.nodes[i])) r[name].push_back(i);
  return r;
}

bool is_graph_output(const Graph& g, const std::string& name) {
  for (const auto& o : g.outputs)
    if (o.name == name) return true;
  return false;
}

NameGenerator::NameGenerator(const Graph& g) { collect_all_names(g, used_); }

std::string NameGenerator::make(const std::string& base) {
  if (used_.insert(base).second) return base;
  for (int i = 1;; ++i) {
    std::string n = base + "_" + std::to_string(i);
    if (used_.insert(n).second) return n;
  }
}

Tensor constant_node_value(const Node& n) {
  if (n.op_type != "Constant" || !n.domain.empty() || n.outputs.size() != 1 || n.attrs.size() != 1) return {};
  const Attribute& a = n.attrs[0];
  if (a.name == "value" && a.type == AttrType::Tensor) return a.t;
  if (a.name == "value_float") return Tensor::scalar<float>(a.f);
  if (a.name == "value_int") return Tensor::scalar<int64_t>(a.i);
  if (a.name == "value_floats") return Tensor::from_vector<float>(a.floats, {static_cast<int64_t>(a.floats.size())});
  if (a.name == "value_ints") return Tensor::from_vector<int64_t>(a.ints, {static_cast<int64_t>(a.ints.size())});
  return {};
}

}  // namespace ptq
