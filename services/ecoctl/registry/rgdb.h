/* rgdb: the database side of `ecoctl registry load`, in ONE transaction on
 * L->c (a blocking connection, owned by L): rows are COPYed into temporary
 * staging tables (sql/registry/stage_*.sql, copy_*.sql), set-based queries
 * check what needs the database (check_*.sql: references to rows of this
 * load or of the database, geometry validity, points inside their region,
 * hash collisions), and without problems the staged rows are upserted in
 * reference order (upsert_*.sql, department_links.sql). Problems go to L
 * as FILE:LINE messages, like rgread's. */
#ifndef ECO_RGDB_H
#define ECO_RGDB_H

#include "rg.h"

/* Runs the load. Returns 0 when it went through (committed, or rolled back
 * for L->dry_run), -EBADMSG when rows were refused (rolled back), -EIO on a
 * database failure (rolled back; reported in L). Connects nothing: L->c
 * must be open. */
int rgdb_run(struct rg_load *L);

#endif
