int ingest_placeholder(void); int ingest_placeholder(void) { return 0; }
