COPY rg_region (ord, line, bad, code, name, kind, parent, gjson) FROM STDIN
