// Structural queries on a Graph: topological order, producers/consumers, validation, name generation.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "onnx_io/model.h"

namespace ptq {

// Node indices in an order where every value is produced before use; keeps the file order when
// it is already valid. `outer` holds names visible from enclosing graphs. Throws Error(BadInput)
// for undefined inputs, duplicate producers and cycles, naming the node and value.
std::vector<size_t> topological_order(const Graph& g, const std::set<std::string>& outer = {});

// Reorders g.nodes topologically (see above).
void sort_topologically(Graph& g);

// Names a subgraph reads from enclosing scopes (used but not defined inside it, recursively).
std::set<std::string> captured_names(const Graph& g);

// Value name -> index of the producing node.
std::map<std::string, size_t> producer_map(const Graph& g);
// Value name -> indices of consuming nodes (a node consuming twice is listed twice).
std::map<std::string, std::vector<size_t>> consumer_map(const Graph& g);
bool is_graph_output(const Graph& g, const std::string& name);

// The value of a Constant node of the default domain with one output and one of the attributes
// value / value_float(s) / value_int(s); an empty Tensor for any other node.
Tensor constant_node_value(const Node& n);

// Produces names that are unused in the graph (and its subgraphs), with a readable base.
class NameGenerator {
 public:
  explicit NameGenerator(const Graph& g);
  std::string make(const std::string& base);

 private:
  std::set<std::string> used_;
};

}  // namespace ptq
