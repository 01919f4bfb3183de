# A throwaway build of a YakirOS source checkout in the guest's distribution and C library: the checkout's own
# Makefile runs here with Debian's compiler. BASE: see Dockerfile.
ARG BASE=debian:bookworm
FROM ${BASE}
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
