COPY rg_enterprise FROM STDIN
