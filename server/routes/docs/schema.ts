import { route } from "../api/route";

export const openApiJson = route({
  method: "get",
  path: "/api/openapi.json",
  tag: "operations",
  auth: "none",
  summary: "This document: OpenAPI 3.1, generated from the routes' schemas",
  responses: { 200: { description: "The OpenAPI document", mediaType: "application/json" } },
});

export const docsPage = route({
  method: "get",
  path: "/api/docs",
  tag: "operations",
  auth: "none",
  summary: "A readable reference of this document (Scalar)",
  responses: { 200: { description: "The reference page", mediaType: "text/html" } },
});

export const docsScript = route({
  method: "get",
  path: "/api/docs/scalar.js",
  tag: "operations",
  auth: "none",
  summary: "The reference page's script (Scalar's standalone bundle, from our origin)",
  responses: { 200: { description: "JavaScript", mediaType: "text/javascript" } },
});

export const docsConfig = route({
  method: "get",
  path: "/api/docs/init.js",
  tag: "operations",
  auth: "none",
  summary: "The reference page's script: configures and loads Scalar (the CSP refuses inline scripts)",
  responses: { 200: { description: "JavaScript", mediaType: "text/javascript" } },
});

export const docsStyles = route({
  method: "get",
  path: "/api/docs/docs.css",
  tag: "operations",
  auth: "none",
  summary: "The reference page's colour fixes (WCAG AA contrast)",
  responses: { 200: { description: "CSS", mediaType: "text/css" } },
});
