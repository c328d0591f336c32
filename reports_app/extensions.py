"""Extensions created unbound; create_app binds them (Flask-Migrate: see migrations_setup)."""

from flask_jwt_extended import JWTManager
from flask_sqlalchemy import SQLAlchemy

from reports_app.db import Base
from reports_app.db_connections import AppSession
from reports_app.errors import JsonApi

db = SQLAlchemy(model_class=Base, session_options={"class_": AppSession})
jwt = JWTManager()
api = JsonApi()
