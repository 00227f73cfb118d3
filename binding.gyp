{
  "targets": [
    {
      "target_name": "savekit_native",
      "sources": ["native/pipe-size.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
