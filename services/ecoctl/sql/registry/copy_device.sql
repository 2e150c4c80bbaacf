COPY rg_device FROM STDIN
