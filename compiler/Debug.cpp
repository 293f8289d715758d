//===- Debug.cpp - per-pass debug logging ---------------------------------===//
//
// The set of pass names whose SS_DEBUG logging is on.
//
//===----------------------------------------------------------------------===//

#include "Debug.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringSet.h"

namespace ss {

namespace {
llvm::StringSet<> &enabledTypes() {
  static llvm::StringSet<> types;
  return types;
}
} // namespace

void enableDebugTypes(llvm::StringRef list) {
  llvm::SmallVector<llvm::StringRef> parts;
  list.split(parts, ',', -1, false);
  for (llvm::StringRef p : parts)
    enabledTypes().insert(p.trim());
}

bool isDebugEnabled(llvm::StringRef type) {
  auto &types = enabledTypes();
  return !types.empty() && (types.contains(type) || types.contains("all"));
}

} // namespace ss
