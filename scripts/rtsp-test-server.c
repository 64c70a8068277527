/* A small RTSP server for libifc's RTSP client tests: GStreamer's gst-rtsp-server serving one
 * mount point on 127.0.0.1, optionally behind Basic and/or Digest authentication.
 *
 *   rtsp-test-server PORT MOUNT LAUNCH [basic|digest|both:USER:PASS]
 *
 * PORT 0 picks a free port. Prints "ready PORT" on stdout once listening. Built and started by
 * scripts/rtsp-test-server.sh. RTSP_TEST_SESSION_TIMEOUT=N (seconds) sets the session timeout
 * the server announces (`Session: id;timeout=N`), for keep-alive tests.
 *
 * gst-rtsp-server keeps a connection open when its stream ends; this server closes its client
 * connections a second after pay0 sends end-of-stream (time for the last packets to leave), as a
 * camera that stops would, so that a client sees the end of a file-backed stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

static GstRTSPServer *server;

static GstRTSPFilterResult remove_client(GstRTSPServer *s, GstRTSPClient *c, gpointer data) {
  (void)s, (void)c, (void)data;
  return GST_RTSP_FILTER_REMOVE;
}

static gboolean close_clients(gpointer data) {
  (void)data;
  g_list_free(gst_rtsp_server_client_filter(server, remove_client, NULL));
  return G_SOURCE_REMOVE;
}

static GstPadProbeReturn on_pay_event(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  (void)pad, (void)data;
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) g_timeout_add_seconds(1, close_clients, NULL);
  return GST_PAD_PROBE_OK;
}

static void on_media_configure(GstRTSPMediaFactory *factory, GstRTSPMedia *media, gpointer data) {
  (void)factory, (void)data;
  GstElement *bin = gst_rtsp_media_get_element(media);
  GstElement *pay = gst_bin_get_by_name(GST_BIN(bin), "pay0");
  if (pay) {
    GstPad *src = gst_element_get_static_pad(pay, "src");
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_pay_event, NULL, NULL);
    gst_object_unref(src);
    gst_object_unref(pay);
  }
  gst_object_unref(bin);
}

static void on_new_session(GstRTSPClient *client, GstRTSPSession *session, gpointer data) {
  (void)client;
  gst_rtsp_session_set_timeout(session, GPOINTER_TO_UINT(data));
}

static void on_client_connected(GstRTSPServer *s, GstRTSPClient *client, gpointer data) {
  (void)s;
  g_signal_connect(client, "new-session", G_CALLBACK(on_new_session), data);
}

static int usage(void) {
  fprintf(stderr, "usage: rtsp-test-server PORT MOUNT LAUNCH [basic|digest|both:USER:PASS]\n");
  return 2;
}

/* "digest:user:pass" -> methods, user, pass (pass may contain ':'). */
static int parse_auth(char *spec, GstRTSPAuthMethod *methods, char **user, char **pass) {
  char *kind = spec, *colon = strchr(spec, ':');
  if (!colon) return 0;
  *colon = '\0';
  *user = colon + 1;
  colon = strchr(*user, ':');
  if (!colon) return 0;
  *colon = '\0';
  *pass = colon + 1;
  if (strcmp(kind, "basic") == 0) *methods = GST_RTSP_AUTH_BASIC;
  else if (strcmp(kind, "digest") == 0) *methods = GST_RTSP_AUTH_DIGEST;
  else if (strcmp(kind, "both") == 0) *methods = GST_RTSP_AUTH_BASIC | GST_RTSP_AUTH_DIGEST;
  else return 0;
  return 1;
}

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  if (argc < 4 || argc > 5) return usage();
  const char *port = argv[1], *mount = argv[2], *launch = argv[3];

  server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, "127.0.0.1");
  gst_rtsp_server_set_service(server, port);

  GstRTSPMediaFactory *factory = gst_rtsp_media_factory_new();
  gst_rtsp_media_factory_set_launch(factory, launch);
  g_signal_connect(factory, "media-configure", G_CALLBACK(on_media_configure), NULL);

  if (argc == 5) {
    GstRTSPAuthMethod methods;
    char *user, *pass;
    if (!parse_auth(argv[4], &methods, &user, &pass)) return usage();
    GstRTSPAuth *auth = gst_rtsp_auth_new();
    GstRTSPToken *token =
        gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, "user", NULL);
    if (methods & GST_RTSP_AUTH_BASIC) {
      gchar *basic = gst_rtsp_auth_make_basic(user, pass);
      gst_rtsp_auth_add_basic(auth, basic, token);
      g_free(basic);
    }
    if (methods & GST_RTSP_AUTH_DIGEST) gst_rtsp_auth_add_digest(auth, user, pass, token);
    gst_rtsp_auth_set_supported_methods(auth, methods);
    gst_rtsp_token_unref(token);
    gst_rtsp_server_set_auth(server, auth);
    g_object_unref(auth);
    gst_rtsp_media_factory_add_role(factory, "user", GST_RTSP_PERM_MEDIA_FACTORY_ACCESS, G_TYPE_BOOLEAN,
                                    TRUE, GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, G_TYPE_BOOLEAN, TRUE, NULL);
  }

  const char *timeout = g_getenv("RTSP_TEST_SESSION_TIMEOUT");
  if (timeout) {
    g_signal_connect(server, "client-connected", G_CALLBACK(on_client_connected), GUINT_TO_POINTER(atoi(timeout)));
  }

  GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
  gst_rtsp_mount_points_add_factory(mounts, mount, factory);
  g_object_unref(mounts);

  if (gst_rtsp_server_attach(server, NULL) == 0) {
    fprintf(stderr, "rtsp-test-server: cannot listen on 127.0.0.1:%s\n", port);
    return 1;
  }
  printf("ready %d\n", gst_rtsp_server_get_bound_port(server));
  fflush(stdout);

  GMainLoop *loop = g_main_loop_new(NULL, FALSE);
  g_main_loop_run(loop);
  return 0;
}
