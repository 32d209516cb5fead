"""`make bench`: what a request costs, in AWS calls and in time, and what `import app` costs.

For each operation (tools/bench/public.py, identity.py, wallet.py, support.py, chat.py, merchants.py):

* AWS calls per request, counted with a botocore `before-call` hook on every botocore session
  (PynamoDB's per-thread sessions, boto3's, ours), so a request that starts making an extra call
  shows up here;
* p50/p95 latency through `chalice.test.Client` in the local stage, on moto, after a warm-up;
* the p50 of a "bare" version of the request: the minimal AWS calls the operation needs, made with
  a raw botocore client in the same process, or for an operation that needs none, a bare Chalice app
  route that returns a constant through the same test client; and the ratio app/bare. For the money
  routes (transfers, payments, conversions, confirming a transfer) the bare makes the SAME calls as
  the app, with the same items, keys, sizes and conditions, written by hand
  (tools/bench/raw_movements.py), so app/bare is what the app adds to its own DynamoDB calls.

Then the hot payee (tools/bench/hot_payee.py, `--hot-payee N`, 0 skips it): on `make run`'s server
over HTTP, N payers sending 1-fen transfers at once to ONE payee against N payers each to its own;
completed transfers per second in each, the answers that were not 201, the ledger's retries, and the
ratio one/many (goal >= 0.5). Concurrent credits to one wallet conflict on its balance version and
retry, which is what the ratio measures.

Then the webhook dispatch (tools/bench/merchants.py, `--webhooks N`, default 1,000, 0 skips it): N
pending events of one merchant delivered by one `webhook_dispatch` run to a receiver on 127.0.0.1;
its time, events per second and AWS calls per event.

Then the cold start: `import app` against a bare `import chalice, boto3`, each in fresh processes with
only a region in the environment.

Adding an operation is a few lines in its area's module:
`OPERATIONS.append(Operation("GET /path", bare=..., calls={...}))`; tools/bench/harness.py has the
machinery, tools/bench/report.py sets up the stage and prints.
This is a script, not a test: `python -m tools.bench [-n ITERATIONS]`.
"""
