/* Placeholder until the hj212 commands land. */
#include "ecoctl.h"

#include <stdio.h>

int ctl_hj212(const struct ctl_opts *o, int argc, char **argv)
{
    (void)o;
    (void)argc;
    fprintf(stderr, "ecoctl: hj212 %s: not available in this build\n", argv[0]);
    return CTL_REFUSED;
}
