// The workbench works without this file; it only adds what helps a person typing.
"use strict";
