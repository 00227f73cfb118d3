{
  "targets": [
    {
      "target_name": "savekit_native",
      "sources": ["native/pipe-setup.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
