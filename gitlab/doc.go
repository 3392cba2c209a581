// Package gitlab is oceankit's GitLab provider: a drop-in for Port's
// gitlab-v2 integration. It offers gitlab-v2's kinds (project, group,
// group-with-members, member, project-with-members, merge-request, issue,
// pipeline, job, deployment, release, tag, branch, and the repository
// content kinds file, folder, skill and plugin) with the same selector
// keys, defaults and enrichment keys (__languages, __includedFiles,
// __searchQueries, __members, __project), its configuration
// (gitlabHost/gitlabUrl, gitlabToken) and its default blueprints and
// mapping, embedded (Defaults).
//
// A program uses NewApp, which reads the config and runs the provider in an
// ocean.App; to combine GitLab's kinds with another provider's, build the
// Integration with New and hand its Provider to ocean.New.
//
// # Where things are
//
// One flat package; the file names are the map. Each kind has a list
// function (in kinds.go unless named), a selector type and a live-event
// processor:
//
//	kind                  list function                    selector                processor (file)
//	project               listProjects                     ProjectSelector         projectProcessor (webhook_project.go)
//	project-with-members  listProjectsWithMembers          ProjectMembersSelector  projectMembersProcessor (webhook_project.go)
//	group                 listGroups                       GroupSelector           groupProcessor (webhook_project.go)
//	group-with-members    listGroupsWithMembers            GroupMembersSelector    groupProcessor (webhook_project.go)
//	member                listMembers                      GroupMembersSelector    memberProcessor (webhook_project.go)
//	merge-request         listMergeRequests                MergeRequestSelector    mergeRequestProcessor (webhook_work.go)
//	issue                 listIssues                       IssueSelector           issueProcessor (webhook_work.go)
//	pipeline              listPipelines                    PipelineSelector        pipelineProcessor (webhook_ci.go)
//	job                   listJobs                         JobSelector             jobProcessor (webhook_ci.go)
//	deployment            listDeployments                  DeploymentSelector      deploymentProcessor (webhook_ci.go)
//	release               listReleases                     ProjectSelector         releaseProcessor (webhook_ci.go)
//	tag                   listTags                         ProjectSelector         tagProcessor (webhook_ci.go)
//	branch                listBranches                     BranchSelector          branchProcessor (webhook_push.go)
//	file                  listFiles (files.go)             FileSelector            fileProcessor (webhook_content.go)
//	folder                listFolders (folders.go)         FolderSelector          folderProcessor (webhook_content.go)
//	skill                 listSkills (content_skill.go)    SkillSelector           skillProcessor (webhook_content.go)
//	plugin                listPlugins (content_plugin.go)  PluginSelector          pluginProcessor (webhook_content.go)
//
// The API kinds' selectors are in selectors.go, the content kinds' in
// content_selectors.go. Around them:
//
//	provider.go app.go config.go   Integration, New, NewApp, Config, LoadConfig
//	client.go limiter.go           Client: transport, retries, rate limits
//	list.go list_shared.go         project and group listings, fan-out over them,
//	list_keyset.go                 the shared group listing, keyset pagination
//	item.go                        reading GitLab's JSON and webhook payloads
//	fields.go                      decoding only the keys a resync reads
//	enrich.go                      __languages, __includedFiles, __searchQueries
//	resolvers.go                   gitlab-v2's deprecated mapping values
//	webhook.go                     hookProcessor, authentication, processors()
//	webhook_register.go            registering the webhooks (RegisterWebhooks)
//	content.go content_*.go        repository content: globs, file reads,
//	files*.go folders.go           tree walks, parsing
//	actions.go                     the trigger_pipeline action
//
// DESIGN.md, beside this file, explains the choices: rate limits, request
// economy, pagination and the content kinds.
//
// # Contract
//
// Items are GitLab's JSON exactly as the API returned it (decoded into
// map[string]any, never into typed structs that drop fields a mapping may
// read), with gitlab-v2's enrichment keys added. Within a resync, GitLab's
// lists keep only the paths the resync's mapping may read (ocean.Fields;
// for the group and member lists several kinds share, ocean.FieldsOf over
// those kinds) and this package's code reads (fields.go): a merge request
// keeps author.name, not the whole author. Raw data examples, live events
// and OCEAN__RESYNC__DECODE_ALL_FIELDS keep items whole.
//
// Every request goes through one limiter (Config.MaxConcurrency,
// Config.RequestsPerMinute, GitLab's announced limits) and is retried on
// 429, 408, 5xx and network errors within Config.MaxRetries and
// Config.MaxRetryWait; every wait ends with the request's context.
//
// A project or group that answers 403 or 404 during a fan-out (deleted
// meanwhile, no access) is logged and skipped; other failures fail the
// kind, so that the framework deletes nothing on partial data.
//
// With live events on (OCEAN__BASE_URL set), the provider registers group
// and project webhooks pointing at POST /integration/webhook. Every
// delivery's X-Gitlab-Token is compared in constant time with
// webhookSecret (derived from the Port client secret when none is set,
// DeriveWebhookSecret); a wrong or missing token is 401 unless
// allowUnauthenticatedWebhooks is on. A processor refetches the object an
// event names, so a live item has the resync's shape and enrichments, and
// applies the resource's selector: an item the selector drops is deleted,
// not created.
package gitlab
