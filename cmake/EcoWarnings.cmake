# The warning set of every target: compile options on the eco_options
# interface target (CMakeLists.txt), which every library and program links.
#
# Warnings become errors only with -DECO_WERROR=ON (CI, tests/run.sh):
# a user's build on another compiler version must not stop at a warning
# that compiler added.
#
# -Wconversion is on with -Wno-sign-conversion. Measured on this tree
# (GCC 12, clang 14, 2026-12): -Wconversion without the sign part raised 0
# warnings with GCC and 9 with clang (string literals and doubles used as
# truth values, in tests and bench; fixed), so it costs nothing to keep.
# -Wsign-conversion raised 11 (GCC) / 9 (clang), nearly all the flag idiom
# `x & ~ENUM_FLAG` and `unsigned & INT_CONSTANT`, where a cast would hide
# more than it shows; it stays off. -Wno-sign-conversion must come after
# -Wconversion, which turns it on.
set(ECO_WARNINGS
  -Wall -Wextra -Wpedantic
  -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations
  -Wold-style-definition -Wnested-externs -Wredundant-decls
  -Wwrite-strings -Wundef -Wpointer-arith -Wformat=2 -Winit-self
  -Wvla -Walloca
  -Wconversion -Wno-sign-conversion)
# GCC only: clang has no such option (or has it under -Wextra already)
set(ECO_WARNINGS_GNU -Wduplicated-cond -Wlogical-op)
# clang only. Not taken, measured: -Wcomma (37 warnings, idiomatic for
# loops), -Wimplicit-fallthrough (clang's ignores /* fall through */
# comments, which GCC's -Wextra already checks).
set(ECO_WARNINGS_CLANG -Wmissing-variable-declarations)

function(eco_warnings target)
  target_compile_options(${target} INTERFACE ${ECO_WARNINGS}
    $<$<C_COMPILER_ID:GNU>:${ECO_WARNINGS_GNU}>
    $<$<C_COMPILER_ID:Clang>:${ECO_WARNINGS_CLANG}>)
endfunction()
