COPY rg_department FROM STDIN
