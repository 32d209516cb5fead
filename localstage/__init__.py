"""The local stage (`make run`, the tests, `make bench`): embedded moto with DynamoDB's isolation,
the tables, bucket, topic and SES sender from infra/resources.yaml, Chalice's local gateway made to
answer like API Gateway, and the demo data.

Development only, never in the Lambda zip: `chalice package` ships app.py and chalicelib/, and
nothing in chalicelib imports this package (tests/infra/test_package.py checks both).
"""
