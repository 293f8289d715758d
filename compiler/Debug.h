//===- Debug.h - per-pass debug logging -------------------------*- C++ -*-===//
//
// `--debug-only=PASS[,PASS...]` logging that works in release builds (LLVM's
// own LLVM_DEBUG is compiled out of Debian's release libraries). Passes log
// with SS_DEBUG(DEBUG_TYPE, stream << ...) to stderr.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_DEBUG_H
#define SS_COMPILER_DEBUG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

namespace ss {

/// Enables logging for a comma-separated list of pass names ("all" for
/// every pass).
void enableDebugTypes(llvm::StringRef list);

/// Whether logging is enabled for `type`.
bool isDebugEnabled(llvm::StringRef type);

} // namespace ss

#define SS_DEBUG(TYPE, X)                                                      \
  do {                                                                         \
    if (::ss::isDebugEnabled(TYPE)) {                                          \
      llvm::raw_ostream &dbgs = llvm::errs();                                  \
      dbgs << "[" << TYPE << "] ";                                             \
      X;                                                                       \
    }                                                                          \
  } while (false)

#endif // SS_COMPILER_DEBUG_H
