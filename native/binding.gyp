{
  "targets": [
    {
      "target_name": "posix",
      "sources": ["posix.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
