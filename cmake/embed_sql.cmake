# Writes OUT, a C file with every migration in FILES as a byte array:
#   const struct ctl_migration ctl_migrations[]; const size_t ctl_nmigrations;
# Byte arrays, not string literals: ISO C caps literal length at 4095.
set(body "/* Generated from schemas/sql by cmake/embed_sql.cmake: do not edit. */\n")
string(APPEND body "#include \"ctl_migrations.h\"\n\n")
set(table "")
set(n 0)
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  file(READ ${f} sql HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," sql "${sql}")
  string(REGEX REPLACE "((0x..,){24})" "\\1\n    " sql "${sql}")
  string(APPEND body "static const unsigned char ctl__m${n}[] = {\n    ${sql}0};\n")
  string(APPEND table "    {\"${name}\", (const char *)ctl__m${n}},\n")
  math(EXPR n "${n} + 1")
endforeach()
string(APPEND body "\nconst struct ctl_migration ctl_migrations[] = {\n${table}};\n")
string(APPEND body "const size_t ctl_nmigrations = ${n};\n")
file(WRITE ${OUT} "${body}")
