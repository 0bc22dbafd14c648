/*
 * A ten-line addon with one job: point file descriptor 2 at /dev/null while libtensorflow loads, then put it
 * back. TensorFlow's oneDNN notice is written by absl straight to fd 2 during the library's static
 * initialisation, before any log level applies (TF_CPP_MIN_LOG_LEVEL removes the other start-up lines, not
 * this one), and Node has no dup2. Built by scripts/setup-native.ts next to the tfjs binding.
 */
#include <fcntl.h>
#include <node_api.h>
#include <unistd.h>

/* silence() -> the saved descriptor to hand to restore(), or -1 if fd 2 was left alone. */
static napi_value Silence(napi_env env, napi_callback_info info) {
  (void)info;
  int saved = dup(2);
  int devnull = open("/dev/null", O_WRONLY);
  if (saved >= 0 && devnull >= 0 && dup2(devnull, 2) >= 0) {
    close(devnull);
  } else {
    if (saved >= 0) close(saved);
    if (devnull >= 0) close(devnull);
    saved = -1;
  }
  napi_value result;
  napi_create_int32(env, saved, &result);
  return result;
}

/* restore(saved): fd 2 is the original stream again. */
static napi_value Restore(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t saved = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1) napi_get_value_int32(env, argv[0], &saved);
  if (saved >= 0) {
    dup2(saved, 2);
    close(saved);
  }
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"silence", NULL, Silence, NULL, NULL, NULL, napi_default, NULL},
      {"restore", NULL, Restore, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
