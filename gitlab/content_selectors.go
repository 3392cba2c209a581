package gitlab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/oceankit/oceankit/ocean"
)

// Discovery strategies of the file kind (files.searchStrategy).
const (
	// StrategyGroupSearch searches blobs per top-level group (Advanced
	// Search), falling back to per-project search where a group cannot.
	StrategyGroupSearch = "groupSearch"
	// StrategyProjectSearch searches blobs project by project.
	StrategyProjectSearch = "projectSearch"
	// StrategyRepositoryTree walks repository trees; it does not depend on
	// the search index (fresh pushes, files over 1 MiB, dot-directories).
	StrategyRepositoryTree = "repositoryTree"
)

// DefaultMaxFileSize is the default cap on the size of a file the content
// kinds read (Config.MaxFileSize): 10 MiB, above the OpenAPI documents,
// generated catalogs and monorepo manifests real catalogs parse, while
// bounding what one file may hold in memory. gitlab-v2 reads any size.
const DefaultMaxFileSize = 10 << 20

// RepoRef names a project (path_with_namespace) and optionally the branch
// to read in it. It decodes from a plain string ("group/app") or an object
// ({"name": "group/app", "branch": "dev"}), so gitlab-v2's file `repos`
// (strings) and folder `repos` (objects) both read as written.
type RepoRef struct {
	Name   string `json:"name"`
	Branch string `json:"branch,omitempty"`
}

// UnmarshalJSON accepts a string or an object.
func (r *RepoRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &r.Name)
	}
	type plain RepoRef
	return json.Unmarshal(b, (*plain)(r))
}

// PathList is one glob or a list of globs: gitlab-v2 takes a single
// `path`; a list is accepted too.
type PathList []string

// UnmarshalJSON accepts a string or a list of strings.
func (p *PathList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*p = PathList{s}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(p))
}

// FilesSpec is the file selector's `files` block.
type FilesSpec struct {
	// Path is the glob of the files to read (`port.yml`, `services/*/port.yml`,
	// `**/catalog-info.yaml`). A pattern without a slash matches the file
	// name at any depth, as GitLab's filename: search does; a leading
	// slash ("/port.yml") anchors it at the repository root.
	Path PathList `json:"path"`
	// Repos limits the search to these projects (path_with_namespace); empty
	// means every project the token lists.
	Repos []RepoRef `json:"repos"`
	// SkipParsing keeps JSON and YAML files as text.
	SkipParsing bool `json:"skipParsing"`
	// SearchStrategy is groupSearch (default), projectSearch or
	// repositoryTree.
	SearchStrategy string `json:"searchStrategy"`
	// Branch reads this branch instead of each project's default branch (an
	// oceankit addition; a repo entry's own branch wins).
	Branch string `json:"branch,omitempty"`
	// MaxFileSize overrides the integration's cap (bytes) for this resource.
	MaxFileSize int64 `json:"maxFileSize,omitempty"`
}

// FileSelector is the `file` kind's selector.
type FileSelector struct {
	ocean.BaseSelector
	// IncludeOnlyActiveGroups is the active filter of the group and project
	// listings discovery walks.
	IncludeOnlyActiveGroups *bool     `json:"includeOnlyActiveGroups"`
	Files                   FilesSpec `json:"files"`
	// IncludedFiles adds __includedFiles: path → text of files at the
	// project's root on its default branch.
	IncludedFiles []string `json:"includedFiles"`
}

// Default sets gitlab-v2's default strategy.
func (s *FileSelector) Default() { s.Files.SearchStrategy = StrategyGroupSearch }

// Validate checks the path globs, the strategy and the repos.
func (s *FileSelector) Validate() error {
	var errs []error
	if len(s.Files.Path) == 0 {
		errs = append(errs, errors.New("files.path: required"))
	}
	for i, p := range s.Files.Path {
		if _, err := compileGlob(p, globOptions{anyDepth: true}); err != nil {
			errs = append(errs, fmt.Errorf("files.path[%d]: %w", i, err))
		}
	}
	if !slices.Contains([]string{StrategyGroupSearch, StrategyProjectSearch, StrategyRepositoryTree}, s.Files.SearchStrategy) {
		errs = append(errs, fmt.Errorf("files.searchStrategy: %q is not one of groupSearch, projectSearch, repositoryTree", s.Files.SearchStrategy))
	}
	errs = append(errs, validateRepos("files.repos", s.Files.Repos), validateIncluded(s.IncludedFiles))
	if s.Files.MaxFileSize < 0 {
		errs = append(errs, errors.New("files.maxFileSize: must not be negative"))
	}
	return errors.Join(errs...)
}

func validateRepos(field string, repos []RepoRef) error {
	var errs []error
	for i, r := range repos {
		if strings.TrimSpace(r.Name) == "" {
			errs = append(errs, fmt.Errorf("%s[%d]: name is required", field, i))
		}
	}
	return errors.Join(errs...)
}

func validateIncluded(files []string) error {
	for i, f := range files {
		if strings.TrimSpace(f) == "" {
			return fmt.Errorf("includedFiles[%d]: empty path", i)
		}
	}
	return nil
}

// FolderSpec is one entry of the folder selector's `folders`.
type FolderSpec struct {
	// Path is a directory (its sub-folders are listed) or a glob of folders.
	Path string `json:"path"`
	// Repos limits the entry to these projects; a repo without a branch is
	// read at its default branch (gitlab-v2 assumed "main").
	Repos []RepoRef `json:"repos"`
}

// FolderSelector is the `folder` kind's selector: the project selector's
// fields plus `folders`.
type FolderSelector struct {
	ocean.BaseSelector
	IncludeOnlyActiveProjects *bool `json:"includeOnlyActiveProjects"`
	// IncludedFiles adds __includedFiles read at the project's root on its
	// default branch, as gitlab-v2 does for folders.
	IncludedFiles []string     `json:"includedFiles"`
	Folders       []FolderSpec `json:"folders"`
}

// Validate checks the folder globs and repos.
func (s *FolderSelector) Validate() error {
	var errs []error
	for i, f := range s.Folders {
		if _, err := compileGlob(f.Path, globOptions{allowEmpty: true}); err != nil {
			errs = append(errs, fmt.Errorf("folders[%d].path: %w", i, err))
		}
		errs = append(errs, validateRepos(fmt.Sprintf("folders[%d].repos", i), f.Repos))
	}
	errs = append(errs, validateIncluded(s.IncludedFiles))
	return errors.Join(errs...)
}

// DefaultSkillPaths are gitlab-v2's skill locations.
var defaultSkillPaths = []string{
	".agents/skills/**/SKILL.md",
	".agent/skills/**/SKILL.md",
	".cursor/skills/**/SKILL.md",
	".claude/skills/**/SKILL.md",
	".codex/skills/**/SKILL.md",
	".github/skills/**/SKILL.md",
	".opencode/skills/**/SKILL.md",
	"skills/**/SKILL.md",
}

// DefaultSkillPaths returns the built-in skill locations of the skill kind.
func DefaultSkillPaths() []string { return slices.Clone(defaultSkillPaths) }

// SkillPath is one entry of the skill selector's `paths`.
type SkillPath struct {
	Path  string    `json:"path"`
	Repos []RepoRef `json:"repos"`
}

// UnmarshalJSON accepts an object or a plain path string.
func (p *SkillPath) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &p.Path)
	}
	type plain SkillPath
	return json.Unmarshal(b, (*plain)(p))
}

// SkillSelector is the `skill` kind's selector.
type SkillSelector struct {
	ocean.BaseSelector
	IncludeOnlyActiveGroups *bool       `json:"includeOnlyActiveGroups"`
	Paths                   []SkillPath `json:"paths"`
}

// Default sets gitlab-v2's skill locations.
func (s *SkillSelector) Default() {
	for _, p := range defaultSkillPaths {
		s.Paths = append(s.Paths, SkillPath{Path: p})
	}
}

// Validate checks the globs.
func (s *SkillSelector) Validate() error {
	var errs []error
	for i, p := range s.Paths {
		if _, err := compileGlob(p.Path, globOptions{fold: true}); err != nil {
			errs = append(errs, fmt.Errorf("paths[%d].path: %w", i, err))
		}
		errs = append(errs, validateRepos(fmt.Sprintf("paths[%d].repos", i), p.Repos))
	}
	return errors.Join(errs...)
}

// Plugin providers, in gitlab-v2's default order.
var defaultPluginProviders = []string{"claude", "cursor", "codex", "agents", "kimi", "opencode", "pi", "antigravity"}

// DefaultPluginProviders returns the plugin kind's built-in providers.
func DefaultPluginProviders() []string { return slices.Clone(defaultPluginProviders) }

// PluginSelector is the `plugin` kind's selector.
type PluginSelector struct {
	ocean.BaseSelector
	IncludeOnlyActiveGroups *bool     `json:"includeOnlyActiveGroups"`
	Providers               []string  `json:"providers"`
	Repos                   []RepoRef `json:"repos"`
}

// Default sets every provider.
func (s *PluginSelector) Default() { s.Providers = DefaultPluginProviders() }

// Validate checks the providers.
func (s *PluginSelector) Validate() error {
	var errs []error
	for _, p := range s.Providers {
		if !slices.Contains(defaultPluginProviders, p) {
			errs = append(errs, fmt.Errorf("providers: %q is not one of %s", p, strings.Join(defaultPluginProviders, ", ")))
		}
	}
	errs = append(errs, validateRepos("repos", s.Repos))
	return errors.Join(errs...)
}
