//! paste-deploy style app loading (`api-paste.ini`).
