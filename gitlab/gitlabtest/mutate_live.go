package gitlabtest

import (
	"fmt"
	"slices"
	"time"
)

// The mutators below change objects that live events are about (tags,
// releases, deployments, jobs), so that a test can post a webhook for a
// change and check what a refetch sees.

// CreateTag creates a lightweight tag name at ref (a branch, tag or commit).
func (d *Dataset) CreateTag(projectID int, name, ref string) (Tag, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil || ps.repo == nil {
		return Tag{}, fmt.Errorf("project %d: %w", projectID, ErrNotFound)
	}
	src := ps.repo.resolveRef(ref)
	if src == nil {
		return Tag{}, fmt.Errorf("ref %q: %w", ref, ErrNotFound)
	}
	for _, t := range ps.repo.tags {
		if t.Name == name {
			return Tag{}, fmt.Errorf("tag %q: %w", name, ErrExists)
		}
	}
	now := d.stamp()
	t := &Tag{Name: name, Target: src.head.ID, Commit: src.head, CreatedAt: T(now), cache: &jsonCache{}}
	ps.repo.tags = append([]*Tag{t}, ps.repo.tags...)
	ps.touch(now)
	return *t, nil
}

// DeleteTag deletes a tag (and its release, as GitLab does).
func (d *Dataset) DeleteTag(projectID int, name string) error {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil || ps.repo == nil || !slices.ContainsFunc(ps.repo.tags, func(t *Tag) bool { return t.Name == name }) {
		return fmt.Errorf("tag %d/%s: %w", projectID, name, ErrNotFound)
	}
	ps.repo.tags = slices.DeleteFunc(ps.repo.tags, func(t *Tag) bool { return t.Name == name })
	ps.releases = slices.DeleteFunc(ps.releases, func(r *Release) bool { return r.TagName == name })
	ps.touch(d.stamp())
	return nil
}

// UpdateRelease changes the release of a tag through fn.
func (d *Dataset) UpdateRelease(projectID int, tag string, fn func(*Release)) (Release, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil {
		return Release{}, fmt.Errorf("project %d: %w", projectID, ErrNotFound)
	}
	for _, r := range ps.releases {
		if r.TagName == tag {
			fn(r)
			r.TagName = tag
			r.cache.reset()
			ps.touch(d.stamp())
			return *r, nil
		}
	}
	return Release{}, fmt.Errorf("release %d/%s: %w", projectID, tag, ErrNotFound)
}

// DeleteRelease deletes the release of a tag; the tag stays.
func (d *Dataset) DeleteRelease(projectID int, tag string) error {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil || !slices.ContainsFunc(ps.releases, func(r *Release) bool { return r.TagName == tag }) {
		return fmt.Errorf("release %d/%s: %w", projectID, tag, ErrNotFound)
	}
	ps.releases = slices.DeleteFunc(ps.releases, func(r *Release) bool { return r.TagName == tag })
	if ps.repo != nil {
		for _, t := range ps.repo.tags {
			if t.Name == tag {
				t.Release = nil
				t.cache.reset()
			}
		}
	}
	ps.touch(d.stamp())
	return nil
}

// Releases returns a project's releases.
func (d *Dataset) Releases(projectID int) []Release {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ps := d.projectByID[projectID]
	if ps == nil {
		return nil
	}
	out := make([]Release, len(ps.releases))
	for i, r := range ps.releases {
		out[i] = *r
	}
	return out
}

// Deployments returns a project's deployments, by ID.
func (d *Dataset) Deployments(projectID int) []Deployment {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ps := d.projectByID[projectID]
	if ps == nil {
		return nil
	}
	out := make([]Deployment, len(ps.deployments))
	for i, x := range ps.deployments {
		out[i] = *x
	}
	return out
}

// UpdateDeployment changes a deployment through fn and bumps updated_at;
// a deployment that reaches success, failed or canceled gets a finish
// time.
func (d *Dataset) UpdateDeployment(projectID, id int, fn func(*Deployment)) (Deployment, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil {
		return Deployment{}, fmt.Errorf("project %d: %w", projectID, ErrNotFound)
	}
	for _, x := range ps.deployments {
		if x.ID != id {
			continue
		}
		fn(x)
		now := d.stamp()
		x.UpdatedAt = T(now)
		switch x.Status {
		case "success", "failed", "canceled":
			if x.finishedAt.IsZero() {
				x.finishedAt = now
			}
		default:
			x.finishedAt = time.Time{}
		}
		x.cache.reset()
		ps.touch(now)
		return *x, nil
	}
	return Deployment{}, fmt.Errorf("deployment %d/%d: %w", projectID, id, ErrNotFound)
}

// Jobs returns the jobs of a pipeline.
func (d *Dataset) Jobs(projectID, pipelineID int) []Job {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ps := d.projectByID[projectID]
	if ps == nil {
		return nil
	}
	out := make([]Job, len(ps.jobs[pipelineID]))
	for i, j := range ps.jobs[pipelineID] {
		out[i] = *j
	}
	return out
}

// UpdateJob changes a job through fn.
func (d *Dataset) UpdateJob(projectID, id int, fn func(*Job)) (Job, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil {
		return Job{}, fmt.Errorf("project %d: %w", projectID, ErrNotFound)
	}
	for _, js := range ps.jobs {
		for _, j := range js {
			if j.ID == id {
				fn(j)
				j.ID = id
				j.cache.reset()
				ps.touch(d.stamp())
				return *j, nil
			}
		}
	}
	return Job{}, fmt.Errorf("job %d/%d: %w", projectID, id, ErrNotFound)
}

// UpdateGroup changes a group's attributes through fn (name, description,
// archived, …); fn must not change its ID, path or parent.
func (d *Dataset) UpdateGroup(idOrPath string, fn func(*Group)) (Group, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	g := d.findGroup(idOrPath)
	if g == nil {
		return Group{}, fmt.Errorf("group %q: %w", idOrPath, ErrNotFound)
	}
	id, path, full, parent := g.ID, g.Path, g.FullPath, g.ParentID
	fn(g)
	g.ID, g.Path, g.FullPath, g.ParentID = id, path, full, parent
	g.cache.reset()
	return *g, nil
}
