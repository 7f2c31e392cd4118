"""The web interface's pages, one module per area, each with its own router (registered in
``search_api.app.ROUTERS``): search, upload, a contract, its pages and verification in
``contract_pages.py``; the dashboard, customers and suggestions in ``model_pages.py``; log-in,
password and the access log in ``account_pages.py``. Every page acts through the caller's
facade (``services.facade``), as the API does.

The contract page's edit forms are in ``edit_pages.py``. This router is for pages that belong to no
area (none today).
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False, tags=["web"])
