/* ecosim: simulates the sample monitoring network of Zhoushan - stations,
 * outlets and vehicles - over MQTT (and HJ 212 over TCP), with labelled
 * incidents. main only wires the modules: settings (simcfg), the network
 * (simnet), and the run (simrun: simgen -> simout on a libuv loop). */
#include "simcfg.h"
#include "simnet.h"
#include "simrun.h"

#include "elog.h"
#include "etime.h"
#include "mq.h"

#include <errno.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    struct simcfg cfg;
    struct simnet *net = NULL;
    struct simgen_opts go;
    struct simout_opts oo;
    struct simrun_opts ro;
    enum elog_level lvl;
    FILE *labels = NULL;
    char err[512], q[600];
    int rc;

    elog_init("ecosim", ELOG_INFO);
    rc = simcfg_load(argc, argv, &cfg);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (elog_level_parse(cfg.log_level, &lvl)) {
        fprintf(stderr, "ecosim: bad configuration: ECO_SIM_LOG_LEVEL: unknown level\n");
        return 2;
    }
    elog_init("ecosim", lvl);
    if (simcfg_gen_opts(&cfg, etime_now_us(), &go, err, sizeof(err))) {
        fprintf(stderr, "ecosim: bad configuration: %s\n", err);
        return 2;
    }
    cfg_log(simcfg_prog(), &cfg);
    if ((rc = simnet_load(cfg.network, &net, err, sizeof(err)))) {
        elog_error("cannot load the network", "reason=%s", elog_q(q, sizeof(q), err));
        return 1;
    }
    elog_info("network",
              "sites=%zu devices=%zu params=%zu limits=%zu skipped_sites=%zu "
              "skipped_devices=%zu skipped_limits=%zu",
              net->nsites, net->ndevices, net->nparams, net->nlimits, net->skipped_sites,
              net->skipped_devices, net->skipped_limits);
    if (cfg.labels[0] && !(labels = fopen(cfg.labels, "w"))) {
        elog_error("cannot open the labels file", "file=%s", elog_q(q, sizeof(q), cfg.labels));
        simnet_free(net);
        return 1;
    }
    go.labels = labels;
    simcfg_out_opts(&cfg, stdout, &oo);
    ro.speed = cfg.speed;
    ro.drain_timeout_s = (int)cfg.drain_timeout;
    ro.connect_timeout_s = (int)cfg.connect_timeout;
    mq_global_init();
    rc = simrun(net, &go, &oo, &ro, NULL);
    mq_global_cleanup();
    /* A reader that stopped early (| head) is not a failure. */
    if (fflush(stdout) && errno != EPIPE && rc == 0)
        rc = 1;
    if (labels && fclose(labels) && rc == 0)
        rc = 1;
    simnet_free(net);
    return rc;
}
