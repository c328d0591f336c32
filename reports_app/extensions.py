"""Extensions created unbound; create_app binds them."""

from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from reports_app.db import Base
from reports_app.errors import JsonApi

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
api = JsonApi()
