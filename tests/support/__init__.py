"""What tests share, so that no test module imports another (tests/ops/test_test_layout.py checks).

One module per job: ``environment`` (Redis, settings, clock, test credentials), ``phrases`` (the example
phrases several folders send, each named for what it is), fakes and servers, and the harnesses more than
one test file drives.
"""
