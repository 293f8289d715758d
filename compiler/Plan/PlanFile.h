//===- PlanFile.h - the text plan format ------------------------*- C++ -*-===//
//
// A plan file lets a user decide op-trans, op-assign and op-order per ONNX
// node name or op type without writing C++. The format is documented in
// models/plans/README.md. One directive per line, `#` starts a comment:
//
//   policy dp=2,tp=2
//   world-size 4
//   trans  name:/h0/mlp/*      split-dim 0 1 4
//   trans  type:matmul         split-reduction 0 1 2
//   trans  name:head           replicate 2
//   assign name:/h1/*          2 3
//   order  name:a before name:b [on 0 1]
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_PLAN_PLANFILE_H
#define SS_COMPILER_PLAN_PLANFILE_H

#include "Plan/Policies.h"
#include "Plan/Primitives.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ss::plan {

/// Matches ops by ONNX node name or op type, with `*` and `?` wildcards.
struct OpSelector {
  enum Kind { Name, Type } kind = Name;
  std::string pattern;

  bool matches(mlir::Operation *op) const;
  std::string str() const;
};

class PlanFile {
public:
  /// The decision for one op: the first matching `trans` and `assign`.
  struct Rule {
    std::optional<PartitionAlgo> algo;
    llvm::SmallVector<int64_t> devices;
    int line = 0;       // of the trans line (or the assign line if none)
    int assignLine = 0; // of the assign line, 0 when none matched
  };

  std::optional<PolicySpec> policy;
  std::optional<std::string> policyText;
  std::optional<int64_t> worldSize;
  /// `recompute GROUP` lines (train-recompute's group syntax: a node-name
  /// glob or FIRST..LAST), in order, with their line numbers.
  std::vector<std::pair<std::string, int>> recompute;

  /// Reads and parses `path`; on failure `error` names the file and line.
  static mlir::LogicalResult load(const std::string &path, PlanFile &plan,
                                  std::string &error);
  /// Parses plan text; `source` names it in errors.
  static mlir::LogicalResult parse(llvm::StringRef text, llvm::StringRef source,
                                   PlanFile &plan, std::string &error);

  /// The rule for an original op, or none when no trans/assign line
  /// matches it.
  std::optional<Rule> ruleFor(mlir::Operation *op) const;

  /// The first `trans` or `assign` line no op matched, if any: a typo in a
  /// pattern must not pass silently.
  std::optional<int> unusedLine() const;

  /// Applies the `order` lines to the placed sub-ops of `func`: for each
  /// device (of the line's list, or all), every sub-op matching the first
  /// selector happens before every sub-op matching the second.
  mlir::LogicalResult applyOrders(mlir::func::FuncOp func) const;

private:
  struct TransLine {
    OpSelector selector;
    PartitionAlgo algo;
    int line;
  };
  struct AssignLine {
    OpSelector selector;
    llvm::SmallVector<int64_t> devices;
    int line;
  };
  struct OrderLine {
    OpSelector before, after;
    llvm::SmallVector<int64_t> devices; // empty: every device
    int line;
  };
  std::vector<TransLine> trans;
  std::vector<AssignLine> assigns;
  std::vector<OrderLine> orders;
  mutable std::set<int> usedLines;
};

} // namespace ss::plan

#endif // SS_COMPILER_PLAN_PLANFILE_H
