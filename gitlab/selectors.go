package gitlab

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/oceankit/oceankit/ocean"
)

// The selector types below accept exactly gitlab-v2's selector keys, with
// its defaults; every one also carries the framework's `query`.

// SearchQuery is one entry of the project selector's searchQueries: the
// result is __searchQueries[Name], true when the search in the project
// matched.
type SearchQuery struct {
	Name  string `json:"name"`
	Scope string `json:"scope"`
	Query string `json:"query"`
}

func (s SearchQuery) scope() string {
	if s.Scope == "" {
		return "blobs"
	}
	return s.Scope
}

// ProjectSelector is the `project` kind's selector (and the base of the
// pipeline, job, tag and release selectors).
type ProjectSelector struct {
	ocean.BaseSelector
	// IncludeLanguages adds __languages ({"Go": 61.2, …}).
	IncludeLanguages bool `json:"includeLanguages"`
	// IncludeOnlyActiveProjects sends active=<bool>; unset sends nothing.
	IncludeOnlyActiveProjects *bool `json:"includeOnlyActiveProjects"`
	// SearchQueries adds __searchQueries.
	SearchQueries []SearchQuery `json:"searchQueries"`
	// IncludedFiles adds __includedFiles: path → text, null when missing,
	// read at the default branch (or main).
	IncludedFiles []string `json:"includedFiles"`
}

// Validate checks the search queries.
func (s *ProjectSelector) Validate() error {
	var errs []error
	for i, q := range s.SearchQueries {
		if q.Name == "" || q.Query == "" {
			errs = append(errs, fmt.Errorf("searchQueries[%d]: name and query are required", i))
		}
	}
	for i, f := range s.IncludedFiles {
		if strings.TrimSpace(f) == "" {
			errs = append(errs, fmt.Errorf("includedFiles[%d]: empty path", i))
		}
	}
	return errors.Join(errs...)
}

func (s *ProjectSelector) enrichment() projectEnrichment {
	return projectEnrichment{languages: s.IncludeLanguages, files: s.IncludedFiles, searches: s.SearchQueries}
}

// GroupSelector is the `group` kind's selector.
type GroupSelector struct {
	ocean.BaseSelector
	// IncludeOnlyActiveGroups sends active=<bool>; unset sends nothing.
	IncludeOnlyActiveGroups *bool `json:"includeOnlyActiveGroups"`
}

// GroupMembersSelector is the selector of `member` and
// `group-with-members`.
type GroupMembersSelector struct {
	ocean.BaseSelector
	IncludeOnlyActiveGroups *bool `json:"includeOnlyActiveGroups"`
	// IncludeBotMembers keeps bot users (access-token bots included).
	IncludeBotMembers bool `json:"includeBotMembers"`
	// IncludeInheritedMembers lists …/members/all (inherited, invited and
	// shared members) instead of direct members.
	IncludeInheritedMembers bool `json:"includeInheritedMembers"`
}

// ProjectMembersSelector is the `project-with-members` kind's selector.
type ProjectMembersSelector struct {
	ocean.BaseSelector
	IncludeOnlyActiveProjects *bool `json:"includeOnlyActiveProjects"`
	IncludeBotMembers         bool  `json:"includeBotMembers"`
	IncludeInheritedMembers   bool  `json:"includeInheritedMembers"`
}

// MergeRequestSelector is the `merge-request` kind's selector.
type MergeRequestSelector struct {
	ocean.BaseSelector
	IncludeOnlyActiveGroups *bool `json:"includeOnlyActiveGroups"`
	// States lists the states fetched (opened, closed, merged).
	States []string `json:"states"`
	// UpdatedAfter, in days, limits the states other than opened to merge
	// requests updated in that window; open ones are always synced.
	UpdatedAfter float64 `json:"updatedAfter"`
}

// Default sets gitlab-v2's defaults: opened, 90 days.
func (s *MergeRequestSelector) Default() {
	s.States = []string{"opened"}
	s.UpdatedAfter = 90
}

// Validate checks the states and the window.
func (s *MergeRequestSelector) Validate() error {
	for _, st := range s.States {
		if !slices.Contains([]string{"opened", "closed", "merged"}, st) {
			return fmt.Errorf("states: %q is not one of opened, closed, merged", st)
		}
	}
	if s.UpdatedAfter < 0 {
		return errors.New("updatedAfter: must not be negative")
	}
	return nil
}

// IssueSelector is the `issue` kind's selector.
type IssueSelector struct {
	ocean.BaseSelector
	IncludeOnlyActiveGroups *bool `json:"includeOnlyActiveGroups"`
	// IssueType is issue, incident, test_case or task.
	IssueType *string `json:"issueType"`
	// Labels is a comma-separated list; an issue must carry all of them.
	Labels *string `json:"labels"`
	// NonArchived leaves out issues of archived projects.
	NonArchived bool `json:"nonArchived"`
	// State is opened or closed.
	State *string `json:"state"`
	// UpdatedAfter, in days.
	UpdatedAfter *float64 `json:"updatedAfter"`
}

// Default sets gitlab-v2's default nonArchived: true.
func (s *IssueSelector) Default() { s.NonArchived = true }

// Validate checks the enumerations.
func (s *IssueSelector) Validate() error {
	if s.IssueType != nil && !slices.Contains([]string{"issue", "incident", "test_case", "task"}, *s.IssueType) {
		return fmt.Errorf("issueType: %q is not one of issue, incident, test_case, task", *s.IssueType)
	}
	if s.State != nil && !slices.Contains([]string{"opened", "closed"}, *s.State) {
		return fmt.Errorf("state: %q is not one of opened, closed", *s.State)
	}
	if s.UpdatedAfter != nil && *s.UpdatedAfter < 0 {
		return errors.New("updatedAfter: must not be negative")
	}
	return nil
}

var isoDateTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$`)

// PipelineQueryParams are the filters passed to GitLab's pipelines API
// (apiQueryParams of `pipeline`, pipelineQueryParams of `job`). Keys are
// accepted in snake_case, as gitlab-v2 documents them, or camelCase.
type PipelineQueryParams struct {
	Name          string `json:"name,omitempty"`
	Scope         string `json:"scope,omitempty"`
	Status        string `json:"status,omitempty"`
	Source        string `json:"source,omitempty"`
	Ref           string `json:"ref,omitempty"`
	SHA           string `json:"sha,omitempty"`
	YamlErrors    *bool  `json:"yaml_errors,omitempty"`
	Username      string `json:"username,omitempty"`
	UpdatedAfter  string `json:"updated_after,omitempty"`
	UpdatedBefore string `json:"updated_before,omitempty"`
	CreatedAfter  string `json:"created_after,omitempty"`
	CreatedBefore string `json:"created_before,omitempty"`
}

// UnmarshalJSON accepts snake_case and camelCase keys.
func (p *PipelineQueryParams) UnmarshalJSON(b []byte) error {
	type plain PipelineQueryParams
	return unmarshalSnake(b, (*plain)(p))
}

var (
	pipelineScopes   = []string{"running", "pending", "finished", "branches", "tags"}
	pipelineStatuses = []string{"created", "waiting_for_resource", "preparing", "pending", "running", "success", "failed", "canceled", "skipped", "manual", "scheduled"}
	pipelineSources  = []string{"push", "schedule", "web", "merge_request_event", "api", "chat", "external", "external_pull_request_event", "ondemand_dast_scan", "ondemand_dast_validation", "parent_pipeline", "pipeline", "security_orchestration_policy", "trigger", "webide"}
)

func (p *PipelineQueryParams) validate(field string) error {
	if p == nil {
		return nil
	}
	var errs []error
	oneOf := func(name, v string, allowed []string) {
		if v != "" && !slices.Contains(allowed, v) {
			errs = append(errs, fmt.Errorf("%s.%s: %q is not one of %s", field, name, v, strings.Join(allowed, ", ")))
		}
	}
	oneOf("scope", p.Scope, pipelineScopes)
	oneOf("status", p.Status, pipelineStatuses)
	oneOf("source", p.Source, pipelineSources)
	for name, v := range map[string]string{"updated_after": p.UpdatedAfter, "updated_before": p.UpdatedBefore, "created_after": p.CreatedAfter, "created_before": p.CreatedBefore} {
		if v != "" && !isoDateTime.MatchString(v) {
			errs = append(errs, fmt.Errorf("%s.%s: %q is not an ISO 8601 date-time with a time zone", field, name, v))
		}
	}
	return errors.Join(errs...)
}

func (p *PipelineQueryParams) values() map[string]string {
	if p == nil {
		return nil
	}
	m := map[string]string{
		"name": p.Name, "scope": p.Scope, "status": p.Status, "source": p.Source, "ref": p.Ref, "sha": p.SHA,
		"username": p.Username, "updated_after": p.UpdatedAfter, "updated_before": p.UpdatedBefore,
		"created_after": p.CreatedAfter, "created_before": p.CreatedBefore,
	}
	if p.YamlErrors != nil {
		m["yaml_errors"] = fmt.Sprint(*p.YamlErrors)
	}
	return m
}

// PipelineSelector is the `pipeline` kind's selector.
type PipelineSelector struct {
	ProjectSelector
	APIQueryParams *PipelineQueryParams `json:"apiQueryParams"`
}

// Validate checks the query parameters.
func (s *PipelineSelector) Validate() error {
	return errors.Join(s.ProjectSelector.Validate(), s.APIQueryParams.validate("apiQueryParams"))
}

// JobSelector is the `job` kind's selector.
type JobSelector struct {
	ProjectSelector
	// PipelineQueryParams picks the pipelines whose jobs are listed.
	PipelineQueryParams *PipelineQueryParams `json:"pipelineQueryParams"`
}

// Validate checks the query parameters.
func (s *JobSelector) Validate() error {
	return errors.Join(s.ProjectSelector.Validate(), s.PipelineQueryParams.validate("pipelineQueryParams"))
}

// DeploymentQueryParams are the filters passed to GitLab's deployments
// API. Keys are accepted in camelCase, as gitlab-v2 documents them, or
// snake_case.
type DeploymentQueryParams struct {
	Environment    string `json:"environment,omitempty"`
	Status         string `json:"status,omitempty"`
	UpdatedAfter   string `json:"updated_after,omitempty"`
	UpdatedBefore  string `json:"updated_before,omitempty"`
	FinishedAfter  string `json:"finished_after,omitempty"`
	FinishedBefore string `json:"finished_before,omitempty"`
}

// UnmarshalJSON accepts snake_case and camelCase keys.
func (p *DeploymentQueryParams) UnmarshalJSON(b []byte) error {
	type plain DeploymentQueryParams
	return unmarshalSnake(b, (*plain)(p))
}

// DeploymentSelector is the `deployment` kind's selector.
type DeploymentSelector struct {
	ocean.BaseSelector
	IncludeOnlyActiveProjects *bool                  `json:"includeOnlyActiveProjects"`
	APIQueryParams            *DeploymentQueryParams `json:"apiQueryParams"`
}

// Validate applies GitLab's rules: known statuses, ISO dates, and
// status=success with the finished_* filters.
func (s *DeploymentSelector) Validate() error {
	p := s.APIQueryParams
	if p == nil {
		return nil
	}
	var errs []error
	if p.Status != "" && !slices.Contains([]string{"created", "running", "success", "failed", "canceled", "blocked"}, p.Status) {
		errs = append(errs, fmt.Errorf("apiQueryParams.status: %q is not one of created, running, success, failed, canceled, blocked", p.Status))
	}
	for name, v := range map[string]string{"updatedAfter": p.UpdatedAfter, "updatedBefore": p.UpdatedBefore, "finishedAfter": p.FinishedAfter, "finishedBefore": p.FinishedBefore} {
		if v != "" && !isoDateTime.MatchString(v) {
			errs = append(errs, fmt.Errorf("apiQueryParams.%s: %q is not an ISO 8601 date-time with a time zone", name, v))
		}
	}
	if (p.FinishedAfter != "" || p.FinishedBefore != "") && p.Status != "success" {
		errs = append(errs, errors.New("apiQueryParams: finishedAfter/finishedBefore require status: success (a GitLab rule)"))
	}
	return errors.Join(errs...)
}

// BranchSelector is the `branch` kind's selector.
type BranchSelector struct {
	ocean.BaseSelector
	IncludeOnlyActiveProjects *bool `json:"includeOnlyActiveProjects"`
	// DefaultBranchOnly syncs each project's default branch only.
	DefaultBranchOnly bool `json:"defaultBranchOnly"`
	// Regex (RE2) filters branch names; it wins over Search.
	Regex *string `json:"regex"`
	// Search is GitLab's branch search (^term, term$).
	Search *string `json:"search"`
}

// Default sets gitlab-v2's default defaultBranchOnly: true.
func (s *BranchSelector) Default() { s.DefaultBranchOnly = true }

// Validate compiles the regex.
func (s *BranchSelector) Validate() error {
	if s.Regex != nil {
		if _, err := regexp.Compile(*s.Regex); err != nil {
			return fmt.Errorf("regex: %w", err)
		}
	}
	return nil
}

// unmarshalSnake decodes an object whose keys may be camelCase into a
// struct with snake_case json tags.
func unmarshalSnake(b []byte, dst any) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[snakeCase(k)] = v
	}
	nb, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return json.Unmarshal(nb, dst)
}

func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r + ('a' - 'A'))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
