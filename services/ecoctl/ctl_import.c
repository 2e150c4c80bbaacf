/* Placeholder until the import commands land. */
#include "ecoctl.h"

#include <stdio.h>

int ctl_import(const struct ctl_opts *o, int argc, char **argv)
{
    (void)o;
    (void)argc;
    fprintf(stderr, "ecoctl: import %s: not available in this build\n", argv[0]);
    return CTL_REFUSED;
}
