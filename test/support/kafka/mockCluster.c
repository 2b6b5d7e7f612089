/*
 * Troupe's launcher for librdkafka's mock Kafka cluster (rdkafka_mock.h), used by the Kafka
 * integration tests and the kafka bench. It starts a mock cluster on free localhost ports, creates
 * the topics given as arguments, prints "BOOTSTRAP <host:port,...>" and then reads one command per
 * line on stdin, answering "OK" or "ERR <why>" to each:
 *   topic <name> <partitions>            create a topic
 *   errors <apiKey> <count> <err>...     the next <count> requests of that API fail with these codes
 *   clear <apiKey>                       drop queued errors of that API
 *   down <brokerId> | up <brokerId>      take a broker's listener down or bring it back
 *   rtt <brokerId> <ms>                  add round-trip latency to a broker
 *   quit                                 stop (also on end of input: the test runner died)
 * Usage: mockCluster [brokers] [topic:partitions]...
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *name, int partitions) {
  if (partitions < 1 || partitions > 1000) return -1;
  return rd_kafka_mock_topic_create(mc, name, partitions, 1) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

int main(int argc, char **argv) {
  char errstr[512];
  int brokers = argc > 1 ? atoi(argv[1]) : 1;
  if (brokers < 1 || brokers > 16) brokers = 1;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The mock needs a client instance to host its threads; this one is never used to produce. */
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == NULL) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 2;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (mc == NULL) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 2;
  }
  for (int i = 2; i < argc; i++) {
    char name[256];
    int partitions = 0;
    if (sscanf(argv[i], "%255[^:]:%d", name, &partitions) != 2 || create_topic(mc, name, partitions) != 0) {
      fprintf(stderr, "bad topic argument: %s\n", argv[i]);
      return 2;
    }
  }
  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char line[1024];
  while (fgets(line, sizeof(line), stdin) != NULL) {
    char cmd[32] = {0}, name[256] = {0};
    int a = 0, b = 0;
    int ok = 0;
    if (sscanf(line, "%31s", cmd) != 1) continue;
    if (strcmp(cmd, "quit") == 0) break;
    if (strcmp(cmd, "topic") == 0 && sscanf(line, "%*s %255s %d", name, &a) == 2) {
      ok = create_topic(mc, name, a) == 0;
    } else if (strcmp(cmd, "errors") == 0 && sscanf(line, "%*s %d %d", &a, &b) == 2 && b > 0 && b <= 64) {
      rd_kafka_resp_err_t errs[64];
      int n = 0, used = 0;
      const char *p = line;
      /* Skip "errors <apiKey> <count>", then read up to <count> codes; the last one repeats to fill. */
      for (int skip = 0; skip < 3; skip++) {
        sscanf(p, "%*s%n", &used);
        p += used;
      }
      int code = 0;
      while (n < b && sscanf(p, "%d%n", &code, &used) == 1) {
        errs[n++] = (rd_kafka_resp_err_t)code;
        p += used;
      }
      if (n > 0) {
        for (int i = n; i < b; i++) errs[i] = errs[n - 1];
        rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)b, errs);
        ok = 1;
      }
    } else if (strcmp(cmd, "clear") == 0 && sscanf(line, "%*s %d", &a) == 1) {
      rd_kafka_mock_clear_request_errors(mc, (int16_t)a);
      ok = 1;
    } else if (strcmp(cmd, "down") == 0 && sscanf(line, "%*s %d", &a) == 1) {
      ok = rd_kafka_mock_broker_set_down(mc, a) == RD_KAFKA_RESP_ERR_NO_ERROR;
    } else if (strcmp(cmd, "up") == 0 && sscanf(line, "%*s %d", &a) == 1) {
      ok = rd_kafka_mock_broker_set_up(mc, a) == RD_KAFKA_RESP_ERR_NO_ERROR;
    } else if (strcmp(cmd, "rtt") == 0 && sscanf(line, "%*s %d %d", &a, &b) == 2) {
      ok = rd_kafka_mock_broker_set_rtt(mc, a, b) == RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    if (ok)
      printf("OK\n");
    else
      printf("ERR %s", line);
    fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
