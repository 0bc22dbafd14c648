{
  'targets': [{
    'target_name': 'quiet_stderr',
    'sources': ['quiet_stderr.c'],
    'defines': ['NAPI_VERSION=8'],
  }],
}
