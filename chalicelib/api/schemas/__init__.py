"""Request and response models (pydantic), one module per area, loaded on first use.

Routes name their models as strings (`@operation(..., schemas="identity", body="Register")`), so
importing the app never imports pydantic or builds a model: that keeps Lambda cold starts short.
The first request that validates a body, or the first GET /openapi.json, loads them.
"""
