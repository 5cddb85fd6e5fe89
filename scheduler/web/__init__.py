"""HTTP layer: FastAPI app factory and routers."""
