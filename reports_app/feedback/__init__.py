"""The citizen's rating of a resolved report: POST /api/v1/reports/{id}/feedback."""
