// /console/: each role's start page.

import { ROLE_HOME, requireUser } from "../api.js";

const user = await requireUser();
location.replace(ROLE_HOME[user.role] || "/console/login");
