//===- PlanFile.cpp - parse and apply text plans --------------------------===//
//
// Reads the line-oriented plan format of PlanFile.h and turns its lines
// into primitive calls.
//
//===----------------------------------------------------------------------===//

#include "Plan/PlanFile.h"

#include "Dist/DistDialect.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/GlobPattern.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;
using namespace ss;
using namespace ss::plan;

/// Patterns may use {a,b} alternatives; this bounds their expansion.
static constexpr size_t kMaxBraceExpansions = 1024;

bool OpSelector::matches(Operation *op) const {
  llvm::Expected<llvm::GlobPattern> glob =
      llvm::GlobPattern::create(pattern, kMaxBraceExpansions);
  if (!glob) {
    llvm::consumeError(glob.takeError());
    return false;
  }
  if (kind == Type) {
    StringRef name = op->getName().getStringRef();
    name.consume_front("graph.");
    return glob->match(name);
  }
  // A fused op answers to each of its node names.
  std::string names = nodeName(op);
  SmallVector<StringRef> parts;
  StringRef(names).split(parts, " + ");
  return llvm::any_of(parts, [&](StringRef part) { return glob->match(part); });
}

std::string OpSelector::str() const {
  return (kind == Name ? "name:" : "type:") + pattern;
}

namespace {

struct LineParser {
  StringRef source;
  int line;
  std::string &error;

  LogicalResult fail(const Twine &message) {
    error = (source + ":" + Twine(line) + ": " + message).str();
    return failure();
  }

  LogicalResult selector(StringRef token, OpSelector &out) {
    if (token.consume_front("name:"))
      out.kind = OpSelector::Name;
    else if (token.consume_front("type:"))
      out.kind = OpSelector::Type;
    else
      return fail("expected a selector name:PATTERN or type:PATTERN, got '" +
                  token + "'");
    if (token.empty())
      return fail("empty selector pattern");
    llvm::Expected<llvm::GlobPattern> glob =
        llvm::GlobPattern::create(token, kMaxBraceExpansions);
    if (!glob) {
      std::string why = llvm::toString(glob.takeError());
      return fail("bad pattern '" + token + "': " + why);
    }
    out.pattern = token.str();
    return success();
  }

  LogicalResult integer(StringRef token, int64_t &out, StringRef what,
                        int64_t min) {
    if (token.getAsInteger(10, out) || out < min)
      return fail("expected " + what + " (an integer >= " + Twine(min) +
                  "), got '" + token + "'");
    return success();
  }
};

} // namespace

LogicalResult PlanFile::load(const std::string &path, PlanFile &plan,
                             std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    error =
        "cannot read plan file '" + path + "': " + buffer.getError().message();
    return failure();
  }
  return parse((*buffer)->getBuffer(), path, plan, error);
}

LogicalResult PlanFile::parse(StringRef text, StringRef source, PlanFile &plan,
                              std::string &error) {
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  for (auto [index, raw] : llvm::enumerate(lines)) {
    LineParser p{source, static_cast<int>(index + 1), error};
    StringRef content = raw.split('#').first.trim();
    if (content.empty())
      continue;
    SmallVector<StringRef> tokens;
    content.split(tokens, ' ', -1, /*KeepEmpty=*/false);
    for (StringRef &token : tokens)
      token = token.trim();
    llvm::erase_if(tokens, [](StringRef t) { return t.empty(); });
    StringRef directive = tokens.front();

    if (directive == "policy") {
      if (tokens.size() != 2)
        return p.fail("expected 'policy dp=N,tp=M'");
      FailureOr<PolicySpec> policy = parsePolicy(tokens[1]);
      if (failed(policy))
        return p.fail("bad policy '" + tokens[1] +
                      "': expected dp=N, tp=N and/or zero=S, "
                      "comma-separated");
      plan.policy = *policy;
      plan.policyText = tokens[1].str();
    } else if (directive == "world-size") {
      int64_t world;
      if (tokens.size() != 2)
        return p.fail("expected 'world-size N'");
      if (failed(p.integer(tokens[1], world, "a world size", 1)))
        return failure();
      plan.worldSize = world;
    } else if (directive == "trans") {
      TransLine line{{}, {}, p.line};
      if (tokens.size() < 3)
        return p.fail("expected 'trans SELECTOR ALGORITHM ...'");
      if (failed(p.selector(tokens[1], line.selector)))
        return failure();
      StringRef algo = tokens[2];
      if (algo == "replicate") {
        int64_t parts;
        if (tokens.size() != 4)
          return p.fail("expected 'replicate PARTS'");
        if (failed(p.integer(tokens[3], parts, "a number of parts", 1)))
          return failure();
        line.algo = PartitionAlgo::replicate(parts);
      } else if (algo == "split-dim" || algo == "split-reduction") {
        int64_t operand, dim, parts;
        if (tokens.size() != 6)
          return p.fail("expected '" + algo + " OPERAND DIM PARTS'");
        if (failed(p.integer(tokens[3], operand, "an operand index", 0)) ||
            failed(p.integer(tokens[4], dim, "a dimension", 0)) ||
            failed(p.integer(tokens[5], parts, "a number of parts", 1)))
          return failure();
        line.algo = algo == "split-dim"
                        ? PartitionAlgo::splitDim(operand, dim, parts)
                        : PartitionAlgo::splitReduction(operand, dim, parts);
      } else {
        return p.fail("unknown algorithm '" + algo +
                      "' (split-dim, split-reduction or replicate)");
      }
      plan.trans.push_back(line);
    } else if (directive == "assign") {
      AssignLine line{{}, {}, p.line};
      if (tokens.size() < 3)
        return p.fail("expected 'assign SELECTOR DEVICE...'");
      if (failed(p.selector(tokens[1], line.selector)))
        return failure();
      for (StringRef token : llvm::drop_begin(tokens, 2)) {
        int64_t device;
        if (failed(p.integer(token, device, "a device", 0)))
          return failure();
        line.devices.push_back(device);
      }
      plan.assigns.push_back(line);
    } else if (directive == "recompute") {
      if (tokens.size() != 2)
        return p.fail("expected 'recompute GLOB' or 'recompute FIRST..LAST'");
      plan.recompute.push_back({tokens[1].str(), p.line});
    } else if (directive == "order") {
      OrderLine line{{}, {}, {}, p.line};
      if (tokens.size() < 4 || tokens[2] != "before")
        return p.fail("expected 'order SELECTOR before SELECTOR [on "
                      "DEVICE...]'");
      if (failed(p.selector(tokens[1], line.before)) ||
          failed(p.selector(tokens[3], line.after)))
        return failure();
      if (tokens.size() > 4) {
        if (tokens[4] != "on" || tokens.size() == 5)
          return p.fail("expected 'on DEVICE...' after the second selector");
        for (StringRef token : llvm::drop_begin(tokens, 5)) {
          int64_t device;
          if (failed(p.integer(token, device, "a device", 0)))
            return failure();
          line.devices.push_back(device);
        }
      }
      plan.orders.push_back(line);
    } else {
      return p.fail("unknown directive '" + directive +
                    "' (policy, world-size, trans, assign, order, "
                    "recompute)");
    }
  }
  return success();
}

std::optional<PlanFile::Rule> PlanFile::ruleFor(Operation *op) const {
  Rule rule;
  bool matched = false;
  for (const TransLine &line : trans)
    if (line.selector.matches(op)) {
      rule.algo = line.algo;
      rule.line = line.line;
      usedLines.insert(line.line);
      matched = true;
      break;
    }
  for (const AssignLine &line : assigns)
    if (line.selector.matches(op)) {
      rule.devices = line.devices;
      rule.assignLine = line.line;
      usedLines.insert(line.line);
      if (!matched)
        rule.line = line.line;
      matched = true;
      break;
    }
  if (!matched)
    return std::nullopt;
  return rule;
}

std::optional<int> PlanFile::unusedLine() const {
  std::optional<int> first;
  auto note = [&](int line) {
    if (!usedLines.count(line) && (!first || line < *first))
      first = line;
  };
  for (const TransLine &line : trans)
    note(line.line);
  for (const AssignLine &line : assigns)
    note(line.line);
  return first;
}

LogicalResult PlanFile::applyOrders(func::FuncOp func) const {
  for (const OrderLine &line : orders) {
    SmallVector<Operation *> before, after;
    func.walk([&](Operation *op) {
      if (!isPlannable(op))
        return;
      if (line.before.matches(op))
        before.push_back(op);
      if (line.after.matches(op))
        after.push_back(op);
    });
    if (before.empty() || after.empty())
      return emitError(func->getParentOfType<ModuleOp>().getLoc())
             << "plan file line " << line.line << ": selector '"
             << (before.empty() ? line.before : line.after).str()
             << "' matches no op";
    for (Operation *a : before)
      for (Operation *b : after) {
        std::optional<int64_t> device = dist::deviceOf(a);
        if (a == b || !device || device != dist::deviceOf(b))
          continue;
        if (!line.devices.empty() && !llvm::is_contained(line.devices, *device))
          continue;
        opOrder(a, b);
      }
  }
  return success();
}
