"""Open311 GeoReport v2: the province's categories as services, its public reports as service
requests, and new requests from Open311 client applications filed as ordinary reports."""
