/* ctl_rpc: one MQTT 5 request and its reply (see ctl_rpc.h). */
#include "ctl_rpc.h"

#include "mq.h"
#include "rpc.h"

#include "ecoctl.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define CTL_RPC_KEEPALIVE_S 30
#define CTL_RPC_STEP_MS 100
#define CTL_RPC_ID_BYTES 12
/* Where Debian (ca-certificates) keeps the hashed system CA certificates,
 * for mqtts:// without ECO_MQTT_CAFILE. */
#define CTL_RPC_SYSTEM_CA_DIR "/etc/ssl/certs"

struct ctl_rpc {
    const char *user;
    char reply_topic[CTL_RPC_NAME_MAX * 2 + 64];
    char corr[CTL_RPC_ID_BYTES * 2 + 1];
    const char *req_topic;
    const char *payload;
    size_t payload_len;
    int expiry_s;
    int sub_mid, pub_mid;
    bool connected, conn_done, subacked, published, pubacked, got, lost;
    int conn_rc, suback_rc, puback_rc, publish_err;
    char *reply; /* malloc'd copy of the reply's payload */
    size_t reply_len;
};

static double ctl_rpc__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Publishes the request: called once the reply subscription is granted. */
static void ctl_rpc__publish(struct mosquitto *m, struct ctl_rpc *r)
{
    mosquitto_property *props = NULL;
    int rc = mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, r->reply_topic);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, r->corr,
                                           (uint16_t)strlen(r->corr));
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL,
                                          (uint32_t)r->expiry_s);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_publish_v5(m, &r->pub_mid, r->req_topic, (int)r->payload_len, r->payload, 1,
                                  false, props);
    mosquitto_property_free_all(&props);
    r->published = true;
    r->publish_err = rc;
}

static void ctl_rpc__on_connect(struct mosquitto *m, void *ud, int rc, int flags,
                                const mosquitto_property *props)
{
    struct ctl_rpc *r = ud;
    (void)flags;
    (void)props;
    r->conn_done = true;
    r->conn_rc = rc;
    if (rc != 0)
        return;
    r->connected = true;
    /* the exact reply topic, QoS 1; the request waits for the SUBACK */
    if (mosquitto_subscribe_v5(m, &r->sub_mid, r->reply_topic, 1, 0, NULL) != MOSQ_ERR_SUCCESS)
        r->lost = true;
}

static void ctl_rpc__on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted,
                                  const mosquitto_property *props)
{
    struct ctl_rpc *r = ud;
    (void)props;
    if (mid != r->sub_mid || r->subacked)
        return;
    r->subacked = true;
    r->suback_rc = n >= 1 ? granted[0] : MQTT_RC_UNSPECIFIED;
    if (r->suback_rc < 0x80)
        ctl_rpc__publish(m, r);
}

static void ctl_rpc__on_publish(struct mosquitto *m, void *ud, int mid, int reason,
                                const mosquitto_property *props)
{
    struct ctl_rpc *r = ud;
    (void)m;
    (void)props;
    if (mid != r->pub_mid)
        return;
    r->pubacked = true;
    r->puback_rc = reason;
}

static void ctl_rpc__on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg,
                                const mosquitto_property *props)
{
    struct ctl_rpc *r = ud;
    void *corr = NULL;
    uint16_t clen = 0;
    (void)m;
    if (r->got || !msg->topic || strcmp(msg->topic, r->reply_topic) != 0)
        return;
    /* a reply without our correlation data answers someone else */
    if (!mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &clen, false))
        return;
    if (clen == strlen(r->corr) && memcmp(corr, r->corr, clen) == 0 && msg->payloadlen >= 0) {
        r->reply = malloc((size_t)msg->payloadlen + 1);
        if (r->reply) {
            memcpy(r->reply, msg->payload, (size_t)msg->payloadlen);
            r->reply[msg->payloadlen] = '\0';
            r->reply_len = (size_t)msg->payloadlen;
        }
        r->got = true;
    }
    free(corr);
}

static void ctl_rpc__on_disconnect(struct mosquitto *m, void *ud, int rc,
                                   const mosquitto_property *props)
{
    struct ctl_rpc *r = ud;
    (void)m;
    (void)rc;
    (void)props;
    r->lost = true;
}

static int ctl_rpc__fail(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int ctl_rpc__fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    if (err && cap) {
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int ctl_rpc_call(const struct ctl_opts *o, const char *service, const char *method,
                 const cJSON *args, double timeout_s, cJSON **reply, char *err, size_t errcap)
{
    struct ctl_rpc r;
    struct mosquitto *m = NULL;
    char host[256], topic[CTL_RPC_NAME_MAX * 3 + 32], client_id[96], why[128];
    unsigned char rnd[CTL_RPC_ID_BYTES];
    char *payload = NULL;
    size_t plen = 0;
    cJSON *doc = NULL;
    const cJSON *ok;
    double deadline;
    int port, rc, lrc = MOSQ_ERR_SUCCESS, lerrno = 0;
    bool tls;

    *reply = NULL;
    memset(&r, 0, sizeof(r));
    if (!o->mqtt_url || !*o->mqtt_url)
        return ctl_rpc__fail(err, errcap, -EINVAL,
                             "ECO_MQTT_URL is not set (the broker, e.g. mqtt://localhost:1883)");
    if (mq_parse_url(o->mqtt_url, host, sizeof(host), &port, &tls))
        return ctl_rpc__fail(err, errcap, -EINVAL,
                             "ECO_MQTT_URL '%s' is not mqtt://host[:port] or mqtts://host[:port]",
                             o->mqtt_url);
    if (!o->mqtt_user || !*o->mqtt_user)
        return ctl_rpc__fail(err, errcap, -EINVAL,
                             "ECO_MQTT_USER is not set: requests are made in your own name "
                             "(your broker account, with ECO_MQTT_PASSWORD)");
    if (rpc_request_topic(service, method, o->mqtt_user, topic, sizeof(topic)))
        return ctl_rpc__fail(
            err, errcap, -EINVAL,
            "ECO_MQTT_USER '%s' cannot name a caller (1 to %d of A-Z a-z 0-9 _ . -)", o->mqtt_user,
            CTL_RPC_NAME_MAX);
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return ctl_rpc__fail(err, errcap, -EIO, "no random numbers: %s", strerror(errno));
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(r.corr + 2 * i, 3, "%02x", rnd[i]);
    snprintf(r.reply_topic, sizeof(r.reply_topic), RPC_REPLY_PREFIX "%s/%s", o->mqtt_user, r.corr);
    snprintf(client_id, sizeof(client_id), "ecoctl-%.40s-%.12s", o->mqtt_user, r.corr);
    if (json_print(args, &payload, &plen))
        return ctl_rpc__fail(err, errcap, -ENOMEM, "out of memory");
    r.user = o->mqtt_user;
    r.req_topic = topic;
    r.payload = payload;
    r.payload_len = plen;
    r.expiry_s = (int)ceil(timeout_s);
    if (r.expiry_s < 1)
        r.expiry_s = 1;

    mosquitto_lib_init();
    if (!(m = mosquitto_new(client_id, true, &r))) {
        rc = ctl_rpc__fail(err, errcap, -ENOMEM, "out of memory");
        goto out;
    }
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(m, ctl_rpc__on_connect);
    mosquitto_subscribe_v5_callback_set(m, ctl_rpc__on_subscribe);
    mosquitto_publish_v5_callback_set(m, ctl_rpc__on_publish);
    mosquitto_message_v5_callback_set(m, ctl_rpc__on_message);
    mosquitto_disconnect_v5_callback_set(m, ctl_rpc__on_disconnect);
    if (mosquitto_username_pw_set(m, o->mqtt_user, o->mqtt_password) != MOSQ_ERR_SUCCESS) {
        rc = ctl_rpc__fail(err, errcap, -EINVAL, "bad broker user or password");
        goto out;
    }
    if (tls) {
        const char *cafile = o->mqtt_cafile && *o->mqtt_cafile ? o->mqtt_cafile : NULL;
        if (mosquitto_tls_set(m, cafile, cafile ? NULL : CTL_RPC_SYSTEM_CA_DIR, NULL, NULL, NULL) !=
            MOSQ_ERR_SUCCESS) {
            rc = ctl_rpc__fail(err, errcap, -EINVAL, "cannot use the CA certificates %s",
                               cafile ? cafile : CTL_RPC_SYSTEM_CA_DIR);
            goto out;
        }
    }

    deadline = ctl_rpc__now() + timeout_s;
    /* a non-blocking TCP connect: the deadline bounds it too */
    lrc = mosquitto_connect_async(m, host, port, CTL_RPC_KEEPALIVE_S);
    lerrno = errno;
    while (lrc == MOSQ_ERR_SUCCESS && !r.got && !r.lost) {
        double left = deadline - ctl_rpc__now();
        int step;
        if (left <= 0)
            break;
        if (r.conn_done && r.conn_rc != 0)
            break;
        if (r.subacked && r.suback_rc >= 0x80)
            break;
        if (r.published && r.publish_err != MOSQ_ERR_SUCCESS)
            break;
        if (r.pubacked && r.puback_rc >= 0x80)
            break;
        if (r.pubacked && r.puback_rc == MQTT_RC_NO_MATCHING_SUBSCRIBERS)
            break;
        step = left * 1000 < CTL_RPC_STEP_MS ? (int)(left * 1000) + 1 : CTL_RPC_STEP_MS;
        lrc = mosquitto_loop(m, step, 1);
        lerrno = errno;
    }

    if (r.got) {
        char perr[96] = "";
        rc = json_parse(r.reply, r.reply_len, &doc, perr, sizeof(perr));
        if (rc) {
            rc = ctl_rpc__fail(err, errcap, -EBADMSG, "eco-%s sent a reply that is not JSON (%s)",
                               service, perr);
            goto out;
        }
        ok = cJSON_GetObjectItemCaseSensitive(doc, "ok");
        if (!cJSON_IsObject(doc) || !cJSON_IsBool(ok)) {
            rc = ctl_rpc__fail(err, errcap, -EBADMSG,
                               "eco-%s sent a reply without a boolean \"ok\"", service);
            goto out;
        }
        *reply = doc;
        doc = NULL;
        rc = 0;
    } else if (r.conn_done && r.conn_rc != 0) {
        rc = ctl_rpc__fail(err, errcap,
                           r.conn_rc == MQTT_RC_SERVER_UNAVAILABLE ||
                                   r.conn_rc == MQTT_RC_SERVER_BUSY
                               ? -ECONNREFUSED
                               : -EACCES,
                           "the broker at %s refused the login of '%s': %s", o->mqtt_url,
                           o->mqtt_user, mosquitto_reason_string(r.conn_rc));
    } else if (r.subacked && r.suback_rc >= 0x80) {
        rc = ctl_rpc__fail(err, errcap, -EACCES,
                           "the broker does not let '%s' read its replies (%s): %s", o->mqtt_user,
                           r.reply_topic, mosquitto_reason_string(r.suback_rc));
    } else if (r.published && r.publish_err != MOSQ_ERR_SUCCESS) {
        rc = ctl_rpc__fail(err, errcap, -EIO, "the request was not sent: %s",
                           mosquitto_strerror(r.publish_err));
    } else if (r.pubacked && r.puback_rc >= 0x80) {
        rc = ctl_rpc__fail(err, errcap, -EACCES, "the broker refused the request of '%s' on %s: %s",
                           o->mqtt_user, topic, mosquitto_reason_string(r.puback_rc));
    } else if (r.pubacked && r.puback_rc == MQTT_RC_NO_MATCHING_SUBSCRIBERS) {
        rc = ctl_rpc__fail(err, errcap, -ETIMEDOUT,
                           "no answer from eco-%s: nothing listens for its requests: is it "
                           "running? (ecoctl status)",
                           service);
    } else if (!r.connected) {
        if (lrc == MOSQ_ERR_ERRNO)
            snprintf(why, sizeof(why), "%s", strerror(lerrno));
        else if (lrc != MOSQ_ERR_SUCCESS)
            snprintf(why, sizeof(why), "%s", mosquitto_strerror(lrc));
        else
            snprintf(why, sizeof(why), "no answer within %g s", timeout_s);
        rc = ctl_rpc__fail(err, errcap, lrc == MOSQ_ERR_SUCCESS ? -ETIMEDOUT : -ECONNREFUSED,
                           "cannot reach the broker at %s: %s", o->mqtt_url, why);
    } else if (r.lost || lrc != MOSQ_ERR_SUCCESS) {
        rc = ctl_rpc__fail(err, errcap, -EIO, "lost the connection to the broker at %s: %s",
                           o->mqtt_url,
                           lrc == MOSQ_ERR_ERRNO ? strerror(lerrno) : mosquitto_strerror(lrc));
    } else if (!r.subacked) {
        rc = ctl_rpc__fail(err, errcap, -ETIMEDOUT,
                           "the broker did not confirm the reply subscription within %g s",
                           timeout_s);
    } else {
        rc = ctl_rpc__fail(err, errcap, -ETIMEDOUT,
                           "no answer from eco-%s within %g s: is it running? (ecoctl status)",
                           service, timeout_s);
    }
out:
    if (m) {
        if (r.connected)
            mosquitto_disconnect_v5(m, 0, NULL);
        mosquitto_destroy(m);
    }
    mosquitto_lib_cleanup();
    cJSON_Delete(doc);
    free(r.reply);
    cJSON_free(payload);
    return rc;
}
